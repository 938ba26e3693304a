using System.Diagnostics;

namespace NanoRun.Server.Tests.Scheduling;

public sealed class ScheduleTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Server_UnitEverySecond_CompletesAScheduledRequestWithinThreeSeconds()
    {
        await using var world = TestWorld.Create();
        var ids = Path.Combine(world.Root, "ids.txt");
        world.WithUnit("beat", $$"""
            command: |
              echo "$X_CORRELATION_ID" >> '{{ids}}'
              printf 'tick:%s' "$X_SOURCE"
            cron:
              - spec: "@every 1s"
                name: heartbeat
                headers:
                  X-Source: schedule
            """);
        await world.StartAsync();
        var clock = Stopwatch.StartNew();

        var id = await FirstLineAsync(ids, clock);
        var record = await world.WaitCompleteAsync("beat", id, Limit - clock.Elapsed);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString()!;
        var elapsed = clock.Elapsed;
        var result = await world.GetResultAsync("beat", id, attemptId);

        Assert.True(elapsed <= Limit, $"the first scheduled request completed after {elapsed}: {record}");
        Assert.Equal("tick:schedule", result);
        Assert.Equal("POST", record.GetProperty("method").GetString());
        Assert.Equal("/api/beat/?cron=heartbeat", record.GetProperty("uri").GetString());
    }

    [Fact]
    public async Task Server_InvalidSpec_RefusesToStartNamingFileAndEntry()
    {
        await using var world = TestWorld.Create().WithUnit("bad", "cron:\n  - spec: '@daily'\n  - spec: '0 25 * * *'\n    name: nightly\n");

        var error = await Assert.ThrowsAnyAsync<Exception>(world.StartAsync);

        Assert.Contains("bad.yaml", error.Message, StringComparison.Ordinal);
        Assert.Contains("cron[1].spec", error.Message, StringComparison.Ordinal);
        Assert.Contains("schedule 'nightly'", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Waits, within the limit, for the script to write its request id.</summary>
    private static async Task<string> FirstLineAsync(string path, Stopwatch clock)
    {
        while (true)
        {
            if (File.Exists(path) && (await File.ReadAllLinesAsync(path)).FirstOrDefault(l => l.Length > 0) is { } line)
            {
                return line;
            }

            Assert.True(clock.Elapsed < Limit, "no scheduled request ran in time");
            await Task.Delay(20);
        }
    }
}
