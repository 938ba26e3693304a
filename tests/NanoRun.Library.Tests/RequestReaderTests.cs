using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.Requests;
using NanoRun.Storage;

namespace NanoRun.Library.Tests;

/// <summary>A library host reads and acts on stored requests through <see cref="INanoRunRequests"/>, as the API and the UI do.</summary>
public sealed class RequestReaderTests
{
    [Fact]
    public async Task Requests_FinishedRequest_RecordPageCountAndResultBodyFromHostCode()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("echo", unit => unit.Handle(static (job, ct) => job.RequestBody.CopyToAsync(job.ResponseBody, ct))));
        var queue = world.Services.GetRequiredService<INanoRunQueue>();
        var requests = world.Services.GetRequiredService<INanoRunRequests>();
        var id = (await queue.EnqueueAsync("echo", "hello"u8.ToArray())).Id!;

        var record = await requests.WaitForFinalAsync(id, LibraryWorld.Patience);
        var page = new List<RequestSummary>();
        await foreach (var summary in requests.PageAsync(new PageParams("echo", 10)))
        {
            page.Add(summary);
        }

        var counts = await requests.CountByStateAsync("echo");
        Assert.Equal(RequestState.Succeeded, record?.State);
        Assert.Equal(id, Assert.Single(page).Id);
        Assert.Equal(1, counts.Succeeded);
        Assert.Equal("hello", await ReadAsync(requests, record!.Body));
        Assert.Equal("hello", await ReadAsync(requests, record.Attempts[^1].Result));
        Assert.Null(requests.FindRunning(id));
        Assert.Null(await requests.GetAsync(RequestId.New(TimeProvider.System)));
    }

    [Fact]
    public async Task Requests_CancelRunningRequest_KillsTheAttemptAndEndsTheWait()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("slow", unit => unit.Handle(async (job, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        })));
        var queue = world.Services.GetRequiredService<INanoRunQueue>();
        var requests = world.Services.GetRequiredService<INanoRunRequests>();
        var id = (await queue.EnqueueAsync("slow", "x"u8.ToArray())).Id!;
        await started.Task.WaitAsync(LibraryWorld.Patience);

        var running = requests.FindRunning(id);
        var state = await requests.CancelAsync(id);
        var record = await requests.WaitForFinalAsync(id, LibraryWorld.Patience);

        Assert.Equal(1, running?.Number);
        Assert.Equal(RequestState.Cancelled, state);
        Assert.Equal(RequestState.Cancelled, record?.State);
        Assert.Null(await requests.CancelAsync(RequestId.New(TimeProvider.System)));
    }

    private static async Task<string> ReadAsync(INanoRunRequests requests, BodyRef body)
    {
        var stream = await requests.OpenBodyAsync(body);
        Assert.NotNull(stream);
        await using (stream)
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return await reader.ReadToEndAsync();
        }
    }
}
