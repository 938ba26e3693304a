using System.Net;

namespace NanoRun.Server.Tests.RateLimit;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Post_OverRate_Answers429WithRetryAfterAndStoresNothing()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("slow", "command: cat\nrate: 0.01\nburst: 2\n")
            .WithUnit("open", "command: cat\n")
            .StartAsync();

        var accepted = new[] { await world.PostAsync("slow", "a"), await world.PostAsync("slow", "b") };
        using var refused = await world.Client.PostAsync("api/slow/", new StringContent("c"));
        using var refusedPut = await world.Client.PutAsync("api/slow/?wait=1s", new StringContent("d"));
        var others = new[] { await world.PostAsync("open", "a"), await world.PostAsync("open", "b"), await world.PostAsync("open", "c") };

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, refusedPut.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(100));
        Assert.False(refused.Headers.Contains("X-Correlation-Id"));
        Assert.Contains("requests per second", await refused.Content.ReadAsStringAsync());
        Assert.Equal(2, await world.Client.CountRequestsAsync("slow"));
        Assert.Equal(3, others.Distinct().Count());
        Assert.Equal(2, accepted.Distinct().Count());
    }

    [Fact]
    public async Task Post_AfterRefill_AcceptedAgain()
    {
        // One token every 4 s: the refused request is refused however slowly a loaded machine answers the first one.
        await using var world = await TestWorld.Create().WithUnit("paced", "command: cat\nrate: 0.25\nburst: 1\n").StartAsync();
        await world.PostAsync("paced", "a");
        using var refused = await world.Client.PostAsync("api/paced/", new StringContent("b"));
        var deadline = DateTime.UtcNow.AddSeconds(30);

        HttpStatusCode status;
        do
        {
            await Task.Delay(100);
            using var again = await world.Client.PostAsync("api/paced/", new StringContent("c"));
            status = again.StatusCode;
        }
        while (status == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, status);
        Assert.Equal(2, await world.Client.CountRequestsAsync("paced"));
    }
}
