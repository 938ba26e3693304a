using System.Net;

namespace NanoRun.Server.Tests.Retention;

public sealed class BackPressureTests
{
    [Fact]
    public async Task Post_QueueAtMaxQueue_Answers503ThenRecovers()
    {
        await using var world = await TestWorld.Create().WithUnit("busy", "command: sleep 30\nworkers: 1\nmax_queue: 2\n").StartAsync();
        var running = await world.PostAsync("busy", "a");
        await world.Client.WaitOutcomeAsync("busy", running, "running", TimeSpan.FromSeconds(20));
        await Task.Delay(300);
        var waiting = new[] { await world.PostAsync("busy", "b"), await world.PostAsync("busy", "c") };

        using var refused = await world.Client.PostAsync("api/busy/", new StringContent("d"));
        using var cancel = await world.Client.DeleteAsync($"api/busy/{waiting[0]}");
        await Task.Delay(300);
        using var accepted = await world.Client.PostAsync("api/busy/", new StringContent("e"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.False(refused.Headers.Contains("X-Correlation-Id"));
        Assert.Contains("max_queue", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.SeeOther, accepted.StatusCode);
        using var c1 = await world.Client.DeleteAsync($"api/busy/{running}");
        using var c2 = await world.Client.DeleteAsync($"api/busy/{waiting[1]}");
        using var c3 = await world.Client.DeleteAsync($"api/busy/{accepted.Headers.GetValues("X-Correlation-Id").Single()}");
    }

    [Fact]
    public async Task Post_DataFolderBelowMinFreeDisk_Answers503AndStoresNothing()
    {
        await using var world = await TestWorld.Create("min_free_disk: 1000000000000000000\n").WithUnit("echo", "command: cat\n").StartAsync();

        using var post = await world.Client.PostAsync("api/echo/", new StringContent(new string('x', 100_000)));
        using var put = await world.Client.PutAsync("api/echo/?wait=1s", new StringContent("x"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, post.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, put.StatusCode);
        Assert.NotNull(post.Headers.RetryAfter);
        var blobs = Path.Combine(world.DataDirectory, "blobs");
        Assert.True(!Directory.Exists(blobs) || Directory.GetFiles(blobs, "*", SearchOption.AllDirectories).Length == 0);
    }
}
