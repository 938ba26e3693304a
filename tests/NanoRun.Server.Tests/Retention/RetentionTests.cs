using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Retention;

namespace NanoRun.Server.Tests.Retention;

public sealed class RetentionTests
{
    [Fact]
    public async Task CleanOnce_MaxCount_RemovesOldestRecordsAndTheirFiles()
    {
        await using var world = await TestWorld.Create().WithUnit("keep2", "command: cat\nretention:\n  max_count: 2\n").StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            // Over the inline threshold, so bodies and results are files that must go too.
            ids.Add(await world.PostAsync("keep2", i + new string('x', 10_000)));
            await world.WaitCompleteAsync("keep2", ids[^1]);
        }

        var removed = await world.Services.GetRequiredService<RetentionCleaner>().CleanOnceAsync(CancellationToken.None);

        Assert.Equal(3, removed);
        foreach (var id in ids.Take(3))
        {
            using var gone = await world.Client.GetAsync($"api/keep2/{id}");
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            Assert.Empty(Directory.GetDirectories(Path.Combine(world.DataDirectory, "blobs"), id, SearchOption.AllDirectories));
        }

        foreach (var id in ids.Skip(3))
        {
            var record = await world.GetRecordAsync("keep2", id);
            Assert.StartsWith(ids.IndexOf(id).ToString(System.Globalization.CultureInfo.InvariantCulture), await world.GetResultAsync("keep2", id, record.GetProperty("attempts")[0].GetProperty("id").GetString()!));
        }
    }

    [Fact]
    public async Task CleanOnce_UnfinishedRequests_AreKept()
    {
        await using var world = await TestWorld.Create("retention:\n  max_age: 1ms\n  max_count: 1\n").WithUnit("slow", "command: sleep 30\n").StartAsync();
        var running = await world.PostAsync("slow", "a");
        var queued = await world.PostAsync("slow", "b");

        var removed = await world.Services.GetRequiredService<RetentionCleaner>().CleanOnceAsync(CancellationToken.None);

        Assert.Equal(0, removed);
        Assert.False((await world.GetRecordAsync("slow", running)).GetProperty("complete").GetBoolean());
        Assert.False((await world.GetRecordAsync("slow", queued)).GetProperty("complete").GetBoolean());
        using var cancel1 = await world.Client.DeleteAsync($"api/slow/{running}");
        using var cancel2 = await world.Client.DeleteAsync($"api/slow/{queued}");
    }

    [Fact]
    public async Task CleanOnce_ServerMaxAge_RemovesOldFinishedRequests()
    {
        await using var world = await TestWorld.Create("retention:\n  max_age: 1ms\n").WithUnit("echo", "command: cat\n").StartAsync();
        var id = await world.PostAsync("echo", "x");
        await world.WaitCompleteAsync("echo", id);
        await Task.Delay(20);

        var removed = await world.Services.GetRequiredService<RetentionCleaner>().CleanOnceAsync(CancellationToken.None);
        using var gone = await world.Client.GetAsync($"api/echo/{id}");

        Assert.Equal(1, removed);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }
}
