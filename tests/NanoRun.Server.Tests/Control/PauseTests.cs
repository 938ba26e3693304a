using System.Net;
using System.Text.Json;
using NanoRun.Storage.PostgreSql;

namespace NanoRun.Server.Tests.Control;

/// <summary>Pausing and resuming a unit and a schedule entry over the API.</summary>
public sealed class PauseTests
{
    // Longer than the default poll interval (1 s): a paused unit that claimed anyway would have started by then.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Pause_PostedRequest_StaysQueuedUntilResumeThenCompletes()
    {
        await using var world = await TestWorld.Create().WithUnit("job", "command: cat\n").StartAsync();

        var paused = await world.Client.PostJsonAsync("api/job/pause");
        var id = await world.PostAsync("job", "payload");
        using var put = await world.Client.PutAsync("api/job/?wait=1s", new StringContent("sync"));
        await Task.Delay(Settle);
        var whilePaused = await world.GetRecordAsync("job", id);
        var list = await world.Client.GetJsonAsync("api/job/");
        var resumed = await world.Client.PostJsonAsync("api/job/resume");
        var record = await world.WaitCompleteAsync("job", id);
        var listAfter = await world.Client.GetJsonAsync("api/job/");

        Assert.True(paused.GetProperty("paused").GetBoolean());
        Assert.Equal(JsonValueKind.String, paused.GetProperty("paused_since").ValueKind);
        Assert.Equal(HttpStatusCode.GatewayTimeout, put.StatusCode);
        Assert.Equal("queued", whilePaused.GetProperty("outcome").GetString());
        Assert.True(list.GetProperty("paused").GetBoolean());
        Assert.False(resumed.GetProperty("paused").GetBoolean());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.False(listAfter.GetProperty("paused").GetBoolean());
    }

    [Fact]
    public Task Pause_PostedRequest_StaysQueuedUntilResumeThenCompletes_OnPostgreSql() =>
        TestWorld.OnPostgreSqlAsync(Pause_PostedRequest_StaysQueuedUntilResumeThenCompletes);

    [Fact]
    public async Task Pause_UnknownUnit_AnswersNotFound()
    {
        await using var world = await TestWorld.Create().WithUnit("job", "command: cat\n").StartAsync();

        using var response = await world.Client.PostAsync("api/nope/pause", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Pause_WhileAttemptRuns_AttemptFinishesAndNextRequestWaits()
    {
        await using var world = TestWorld.Create();
        var gate = Path.Combine(world.Root, "gate");
        world.WithUnit("job", $"command: 'while [ ! -e {gate} ]; do sleep 0.05; done; cat'\nworkers: 1\n");
        await world.StartAsync();
        var running = await world.PostAsync("job", "first");
        await world.Client.WaitOutcomeAsync("job", running, "running", TimeSpan.FromSeconds(30));

        await world.Client.PostJsonAsync("api/job/pause");
        var waiting = await world.PostAsync("job", "second");
        await File.WriteAllTextAsync(gate, "");
        var first = await world.WaitCompleteAsync("job", running);
        await Task.Delay(Settle);
        var second = await world.GetRecordAsync("job", waiting);

        Assert.Equal("succeeded", first.GetProperty("outcome").GetString());
        Assert.Equal("queued", second.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Pause_ServerRestarted_StaysPaused()
    {
        await using var world = await TestWorld.Create().WithUnit("job", "command: cat\n").StartAsync();
        await world.Client.PostJsonAsync("api/job/pause");

        await world.StopAsync();
        await world.StartAsync();
        var id = await world.PostAsync("job", "payload");
        await Task.Delay(Settle);
        var whilePaused = await world.GetRecordAsync("job", id);
        var list = await world.Client.GetJsonAsync("api/job/");
        await world.Client.PostJsonAsync("api/job/resume");
        var record = await world.WaitCompleteAsync("job", id);

        Assert.Equal("queued", whilePaused.GetProperty("outcome").GetString());
        Assert.True(list.GetProperty("paused").GetBoolean());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Pause_TwoPostgreSqlNodes_BothHoldAndResumeWakesTheOther()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var nodeA = await TestWorld.Create().WithPostgreSql(database.ConnectionString).WithUnit("job", "command: 'printf A'\n").StartAsync();
        await using var nodeB = await TestWorld.Create().WithPostgreSql(database.ConnectionString).WithUnit("job", "command: 'printf B'\n").StartAsync();

        await nodeA.Client.PostJsonAsync("api/job/pause");
        await WaitPausedAsync(nodeB, "job");
        var id = await nodeB.PostAsync("job", "payload");
        await Task.Delay(Settle);
        var whilePaused = await nodeA.GetRecordAsync("job", id);
        await nodeA.Client.PostJsonAsync("api/job/resume");
        var record = await nodeB.WaitCompleteAsync("job", id);

        Assert.Equal("queued", whilePaused.GetProperty("outcome").GetString());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task PauseSchedule_EverySecond_QueuesNothingUntilResumed()
    {
        await using var world = await TestWorld.Create().WithUnit("beat", "command: 'printf tick'\ncron:\n  - spec: '@every 1s'\n    name: heartbeat\n").StartAsync();

        var paused = await world.Client.PostJsonAsync("api/beat/schedules/heartbeat/pause");
        await Task.Delay(TimeSpan.FromMilliseconds(1200));
        var before = await world.Client.CountRequestsAsync("beat");
        await Task.Delay(Settle);
        var after = await world.Client.CountRequestsAsync("beat");
        var resumed = await world.Client.PostJsonAsync("api/beat/schedules/heartbeat/resume");
        var more = await world.Client.WaitCountAboveAsync("beat", after);

        Assert.True(paused.GetProperty("paused").GetBoolean());
        Assert.Equal("heartbeat", paused.GetProperty("schedule").GetString());
        Assert.Equal(before, after);
        Assert.False(resumed.GetProperty("paused").GetBoolean());
        Assert.True(more > after);
    }

    [Fact]
    public async Task TriggerSchedule_YearlyEntry_QueuesOneRequestAsATickWould()
    {
        await using var world = await TestWorld.Create().WithUnit("report", "command: cat\ncron:\n  - spec: '@yearly'\n    name: annual\n    content: 'yearly report'\n").StartAsync();

        using var response = await world.Client.PostAsync("api/report/schedules/annual/trigger", null);
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        var record = await world.WaitCompleteAsync("report", id);
        var result = await world.GetResultAsync("report", id, record.GetProperty("attempts")[0].GetProperty("id").GetString()!);
        using var unknown = await world.Client.PostAsync("api/report/schedules/nope/trigger", null);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/api/report/?cron=annual", record.GetProperty("uri").GetString());
        Assert.Equal("yearly report", result);
        Assert.Equal(1, await world.Client.CountRequestsAsync("report"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private static async Task WaitPausedAsync(TestWorld world, string unit)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!(await world.Client.GetJsonAsync($"api/{unit}/")).GetProperty("paused").GetBoolean())
        {
            Assert.True(DateTime.UtcNow < deadline, "the other node never saw the pause");
            await Task.Delay(100);
        }
    }
}
