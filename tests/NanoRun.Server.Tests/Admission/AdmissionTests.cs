using System.Net;
using System.Text.Json;

namespace NanoRun.Server.Tests.Admission;

/// <summary>Every way a request is stored passes one admission rule: retries and replays are refused like a POST.</summary>
public sealed class AdmissionTests
{
    // Fails at once on any body but "block", on which it holds its one worker for half a minute.
    private const string BlockingUnit = "command: 'case \"$(cat)\" in block) sleep 30;; *) exit 1;; esac'\nworkers: 1\nmax_queue: 1\nattempts: 1\n";

    [Fact]
    public async Task Retry_UnitAtMaxQueue_RefusedWithPostsStatusAndStoresNothing()
    {
        await using var world = await TestWorld.Create().WithUnit("busy", BlockingUnit).StartAsync();
        var running = await FillAsync(world);

        using var post = await world.Client.PostAsync("api/busy/", new StringContent("block"));
        using var retry = await world.Client.PostAsync($"api/busy/{running[0]}", null);
        var retries = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var again = await world.Client.PostAsync($"api/busy/{running[0]}", null);
            retries.Add(again.StatusCode);
        }

        var count = await world.Client.CountRequestsAsync("busy");
        await CancelAllAsync(world, "busy");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, post.StatusCode);
        Assert.Equal(post.StatusCode, retry.StatusCode);
        Assert.NotNull(retry.Headers.RetryAfter);
        Assert.False(retry.Headers.Contains("X-Correlation-Id"));
        Assert.Contains("max_queue", await retry.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.All(retries, s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
        Assert.Equal(2, count);
    }

    [Fact]
    public async Task ReplayFailed_UnitAtMaxQueue_StopsAtRefusalAndReportsReason()
    {
        await using var world = await TestWorld.Create().WithUnit("busy", BlockingUnit).StartAsync();
        var failed = await world.PostAsync("busy", "fail");
        await world.WaitCompleteAsync("busy", failed);
        await FillAsync(world);

        using var replay = await world.Client.PostAsync("api/busy/failed/retry", null);
        using var doc = JsonDocument.Parse(await replay.Content.ReadAsStringAsync());
        var count = await world.Client.CountRequestsAsync("busy");
        await CancelAllAsync(world, "busy");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, replay.StatusCode);
        Assert.NotNull(replay.Headers.RetryAfter);
        Assert.Equal(0, doc.RootElement.GetProperty("queued").GetInt32());
        Assert.Equal(0, doc.RootElement.GetProperty("replayed").GetArrayLength());
        Assert.Equal("queue_full", doc.RootElement.GetProperty("refused").GetProperty("reason").GetString());
        Assert.Equal(3, count);
    }

    [Fact]
    public async Task Retry_RateLimitedUnit_Answers429WithRetryAfter()
    {
        await using var world = await TestWorld.Create().WithUnit("slow", "command: cat\nrate: 0.01\nburst: 1\n").StartAsync();
        var id = await world.PostAsync("slow", "a");

        using var retry = await world.Client.PostAsync($"api/slow/{id}", null);
        using var replay = await world.Client.PostAsync("api/slow/failed/retry", null);

        Assert.Equal(HttpStatusCode.TooManyRequests, retry.StatusCode);
        Assert.InRange(retry.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(100));
        Assert.Contains("requests per second", await retry.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await world.Client.CountRequestsAsync("slow"));
    }

    /// <summary>One request runs and one waits, so the unit's <c>max_queue: 1</c> is reached; returns both ids.</summary>
    private static async Task<string[]> FillAsync(TestWorld world)
    {
        // The waiting count is read from the store at most every quarter second, and counted up locally in between.
        await Task.Delay(300);
        var running = await world.PostAsync("busy", "block");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await world.GetRecordAsync("busy", running)).GetProperty("outcome").GetString() != "running")
        {
            Assert.True(DateTime.UtcNow < deadline, $"request {running} never ran");
            await Task.Delay(20);
        }

        await Task.Delay(300);
        return [running, await world.PostAsync("busy", "block")];
    }

    private static async Task CancelAllAsync(TestWorld world, string unit)
    {
        using var doc = JsonDocument.Parse(await world.Client.GetStringAsync($"api/{unit}/?limit=500"));
        foreach (var item in doc.RootElement.GetProperty("requests").EnumerateArray())
        {
            using var _ = await world.Client.DeleteAsync($"api/{unit}/{item.GetProperty("id").GetString()}");
        }
    }
}
