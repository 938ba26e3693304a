using System.Net;
using System.Text.Json;

namespace NanoRun.Server.Tests.DeadLetters;

public sealed class DeadLetterTests
{
    [Fact]
    public async Task List_StateFailed_PagesOnlyFailedNewestFirst()
    {
        await using var world = await TestWorld.Create().WithUnit("check", "command: 'read x; [ \"$x\" = ok ]'\nattempts: 2\ninterval: 10ms\n").StartAsync();
        var posted = new List<(string Id, bool Ok)>();
        foreach (var ok in new[] { false, true, false, false, true, false, false })
        {
            posted.Add((await world.PostAsync("check", ok ? "ok\n" : "bad\n"), ok));
        }

        foreach (var (id, _) in posted)
        {
            await world.WaitCompleteAsync("check", id);
        }

        var pages = new List<JsonElement>();
        string? next = null;
        do
        {
            var page = await world.Client.GetJsonAsync("api/check/?state=failed&limit=2" + (next is null ? null : "&before=" + next));
            pages.Add(page);
            next = page.GetProperty("next").GetString();
        }
        while (next is not null);
        var succeeded = await world.Client.GetJsonAsync("api/check/?state=Succeeded");
        var all = await world.Client.GetJsonAsync("api/check/");
        using var badState = await world.Client.GetAsync("api/check/?state=lost");
        using var badLimit = await world.Client.GetAsync("api/check/?limit=0");
        using var badCursor = await world.Client.GetAsync("api/check/?before=..%2F..");
        using var record = await world.Client.GetAsync($"api/check/{posted[0].Id}");

        var failedIds = pages.SelectMany(p => p.GetProperty("requests").EnumerateArray()).ToList();
        Assert.Equal(posted.Where(p => !p.Ok).Select(p => p.Id).Reverse(), failedIds.Select(r => r.GetProperty("id").GetString()));
        Assert.All(failedIds, r => Assert.Equal("failed", r.GetProperty("outcome").GetString()));
        Assert.All(failedIds, r => Assert.Equal(2, r.GetProperty("attempts").GetInt32()));
        Assert.Equal(3, pages.Count);
        Assert.Equal("failed", pages[0].GetProperty("state").GetString());
        Assert.Equal(2, succeeded.GetProperty("requests").GetArrayLength());
        Assert.Equal(7, all.GetProperty("requests").GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, badState.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badCursor.StatusCode);
        Assert.Equal("complete", record.Headers.GetValues("X-Status").Single());
        Assert.Equal("failed", record.Headers.GetValues("X-Outcome").Single());
    }

    [Fact]
    public async Task Replay_SingleAndBulk_QueuesEachFailedOnceAndRepeatQueuesNothing()
    {
        await using var world = TestWorld.Create();
        var fixedFile = Path.Combine(world.Root, "fixed");
        await world.WithUnit("flaky", $"command: 'test -f {fixedFile} && cat'\nattempts: 1\n").StartAsync();
        var failed = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            failed.Add(await world.PostAsync("flaky", "payload " + i));
        }

        foreach (var id in failed)
        {
            Assert.Equal("failed", (await world.WaitCompleteAsync("flaky", id)).GetProperty("outcome").GetString());
        }

        await File.WriteAllTextAsync(fixedFile, "now it works");

        using var single = await world.Client.PostAsync($"api/flaky/{failed[0]}", null);
        var firstBatch = await world.Client.PostJsonAsync("api/flaky/failed/retry?limit=3");
        var secondBatch = await world.Client.PostJsonAsync("api/flaky/failed/retry?limit=3&before=" + firstBatch.GetProperty("next").GetString());
        var repeated = await world.Client.PostJsonAsync("api/flaky/failed/retry");

        Assert.Equal(HttpStatusCode.SeeOther, single.StatusCode);
        var replayed = firstBatch.GetProperty("replayed").EnumerateArray().Concat(secondBatch.GetProperty("replayed").EnumerateArray()).ToList();
        Assert.Equal(Enumerable.Reverse(failed), replayed.Select(r => r.GetProperty("id").GetString()));
        Assert.All(replayed, r => Assert.False(r.GetProperty("already_replayed").GetBoolean()));
        Assert.True(secondBatch.GetProperty("next").ValueKind == JsonValueKind.Null);
        var newIds = replayed.Select(r => r.GetProperty("new_id").GetString()!).ToList();
        for (var i = 0; i < newIds.Count; i++)
        {
            var record = await world.WaitCompleteAsync("flaky", newIds[i]);
            Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
            var result = await world.GetResultAsync("flaky", newIds[i], record.GetProperty("attempts")[0].GetProperty("id").GetString()!);
            Assert.Equal("payload " + (4 - i), result);
        }

        var again = repeated.GetProperty("replayed").EnumerateArray().ToList();
        Assert.Equal(5, again.Count);
        Assert.All(again, r => Assert.True(r.GetProperty("already_replayed").GetBoolean()));
        Assert.Equal(newIds, again.Select(r => r.GetProperty("new_id").GetString()));
        var all = await world.Client.GetJsonAsync("api/flaky/?limit=100");
        Assert.Equal(5 + 1 + 5, all.GetProperty("requests").GetArrayLength());
    }

    [Fact]
    public Task List_StateFailed_OnPostgreSql() =>
        TestWorld.OnPostgreSqlAsync(List_StateFailed_PagesOnlyFailedNewestFirst);

    [Fact]
    public Task Replay_SingleAndBulk_OnPostgreSql() =>
        TestWorld.OnPostgreSqlAsync(Replay_SingleAndBulk_QueuesEachFailedOnceAndRepeatQueuesNothing);
}
