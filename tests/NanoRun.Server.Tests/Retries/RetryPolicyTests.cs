using System.Text.Json;

namespace NanoRun.Server.Tests.Retries;

public sealed class RetryPolicyTests
{
    [Fact]
    public async Task RetryAfter_CgiAnswers503WithHeader_NextAttemptWaitsForItWithinMaxInterval()
    {
        await using var world = TestWorld.Create();
        var honoured = WriteScript(world, "honoured.cgi", "2");
        var bounded = WriteScript(world, "bounded.cgi", "3600");
        await world
            .WithUnit("honoured", $"mode: cgi\ncommand: /bin/sh {honoured}\nattempts: 2\ninterval: 10ms\nretry_after: true\nmax_interval: 1m\n")
            .WithUnit("bounded", $"mode: cgi\ncommand: /bin/sh {bounded}\nattempts: 2\ninterval: 10ms\nretry_after: true\nmax_interval: 1s\n")
            .StartAsync();

        var honouredId = await world.PostAsync("honoured", "x");
        var boundedId = await world.PostAsync("bounded", "x");
        var honouredRecord = await world.WaitCompleteAsync("honoured", honouredId, TimeSpan.FromSeconds(60));
        var boundedRecord = await world.WaitCompleteAsync("bounded", boundedId, TimeSpan.FromSeconds(60));

        Assert.Equal("failed", honouredRecord.GetProperty("outcome").GetString());
        Assert.InRange(Gap(honouredRecord), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
        Assert.Equal("failed", boundedRecord.GetProperty("outcome").GetString());
        Assert.InRange(Gap(boundedRecord), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task RetryOn_ListedAndUnlistedStatuses_RetriesOnlyListedOnes()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("limited", "mode: cgi\ncommand: \"printf 'Status: 429\\\\r\\\\n\\\\r\\\\n'\"\nattempts: 3\ninterval: 10ms\nretry_on: [429, 503]\n")
            .WithUnit("broken", "mode: cgi\ncommand: \"printf 'Status: 500\\\\r\\\\n\\\\r\\\\n'\"\nattempts: 3\ninterval: 10ms\nretry_on: [429, 503]\n")
            .WithUnit("missing", "mode: cgi\ncommand: \"printf 'Status: 404\\\\r\\\\n\\\\r\\\\n'\"\nattempts: 3\ninterval: 10ms\nretry_on: [4xx]\n")
            .StartAsync();

        var limited = await world.WaitCompleteAsync("limited", await world.PostAsync("limited", "x"));
        var broken = await world.WaitCompleteAsync("broken", await world.PostAsync("broken", "x"));
        var missing = await world.WaitCompleteAsync("missing", await world.PostAsync("missing", "x"));

        Assert.Equal(("failed", 3), Summary(limited));
        Assert.Equal(429, limited.GetProperty("attempts")[2].GetProperty("code").GetInt32());
        Assert.Equal(("failed", 1), Summary(broken));
        Assert.Equal(("failed", 3), Summary(missing));
    }

    [Fact]
    public async Task Backoff_Exponential_PausesGrowBetweenAttempts()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("growing", "command: exit 1\nattempts: 3\ninterval: 300ms\nbackoff: exponential\nmax_interval: 10s\n")
            .StartAsync();

        var record = await world.WaitCompleteAsync("growing", await world.PostAsync("growing", "x"), TimeSpan.FromSeconds(60));

        var attempts = record.GetProperty("attempts");
        Assert.Equal(3, attempts.GetArrayLength());
        Assert.True(Between(attempts[0], attempts[1]) >= TimeSpan.FromMilliseconds(300));
        Assert.True(Between(attempts[1], attempts[2]) >= TimeSpan.FromMilliseconds(600));
    }

    private static string WriteScript(TestWorld world, string name, string retryAfter)
    {
        var path = Path.Combine(world.Root, name);
        File.WriteAllText(path, $"#!/bin/sh\nprintf 'Status: 503 Busy\\r\\nRetry-After: {retryAfter}\\r\\n\\r\\nbusy'\n");
        return path;
    }

    private static (string?, int) Summary(JsonElement record) =>
        (record.GetProperty("outcome").GetString(), record.GetProperty("attempts").GetArrayLength());

    private static TimeSpan Gap(JsonElement record) => Between(record.GetProperty("attempts")[0], record.GetProperty("attempts")[1]);

    private static TimeSpan Between(JsonElement earlier, JsonElement later) =>
        later.GetProperty("started_at").GetDateTimeOffset() - earlier.GetProperty("created_at").GetDateTimeOffset();
}
