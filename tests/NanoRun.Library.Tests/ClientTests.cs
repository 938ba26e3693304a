using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Client;
using NanoRun.Units;

namespace NanoRun.Library.Tests;

public sealed class ClientTests
{
    [Fact]
    public async Task Client_RoundTrip_EnqueueGetWaitResultRetry()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("echo", unit => unit.Handle(async (job, ct) =>
        {
            job.StatusCode = 201;
            job.ResponseHeaders.Add(new("Content-Type", job.Header("Content-Type") ?? "none"));
            await job.RequestBody.CopyToAsync(job.ResponseBody, ct);
        })));

        var id = await world.Client.EnqueueAsync("echo", new MemoryStream("{\"a\":1}"u8.ToArray()), [new("Content-Type", "application/json")]);
        var first = await world.Client.GetAsync("echo", id);
        var final = await world.Client.WaitAsync("echo", id, LibraryWorld.Patience);
        string body;
        int status;
        string? type;
        await using (var result = await world.Client.GetResultAsync("echo", id))
        {
            (status, type) = (result.StatusCode, result.Header("Content-Type"));
            body = await new StreamReader(result.Body).ReadToEndAsync();
        }

        var retried = await world.Client.RetryAsync("echo", id);
        var again = await world.Client.WaitAsync("echo", retried, LibraryWorld.Patience);

        Assert.Equal(id, first.Id);
        Assert.Equal("echo", first.Unit);
        Assert.Equal("POST", first.Method);
        Assert.True(final.Complete);
        Assert.True(final.Succeeded);
        Assert.Equal(201, status);
        Assert.Equal("application/json", type);
        Assert.Equal("{\"a\":1}", body);
        Assert.NotEqual(id, retried);
        Assert.True(again.Succeeded);
    }

    [Fact]
    public async Task Client_Cancel_RunningRequestEndsCancelled()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("slow", unit => unit.Handle(async (job, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        })));

        var id = await world.Client.EnqueueAsync("slow", null);
        await started.Task.WaitAsync(LibraryWorld.Patience);
        await world.Client.CancelAsync("slow", id);
        var record = await world.Client.WaitAsync("slow", id, LibraryWorld.Patience);

        Assert.Equal("cancelled", record.Outcome);
    }

    [Fact]
    public async Task Client_Wait_TimesOutWithTimeoutException()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("stuck", unit => unit.Handle((job, ct) => Task.Delay(Timeout.Infinite, ct))));
        var id = await world.Client.EnqueueAsync("stuck", null);

        var error = await Assert.ThrowsAsync<TimeoutException>(() => world.Client.WaitAsync("stuck", id, TimeSpan.FromMilliseconds(300)));

        Assert.Contains(id, error.Message, StringComparison.Ordinal);
        await world.Client.CancelAsync("stuck", id);
    }

    [Fact]
    public async Task Client_Refusals_AreClearExceptions()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun
            .AddUnit("small", unit =>
            {
                unit.MaxRequest = 10;
                unit.Handle((job, ct) => Task.CompletedTask);
            })
            .AddUnit("locked", unit =>
            {
                unit.Authorization = new UnitAuthorization { HeaderToken = new TokenAuthorization { Name = "X-Api-Token", Tokens = ["right"] } };
                unit.Handle((job, ct) => Task.CompletedTask);
            }));

        var missing = await Assert.ThrowsAsync<NanoRunException>(() => world.Client.EnqueueAsync("nope", null));
        var unknownId = await Assert.ThrowsAsync<NanoRunException>(() => world.Client.GetAsync("small", "0123456789abcdef0123456789abcdef"));
        var tooLarge = await Assert.ThrowsAsync<NanoRunException>(() => world.Client.EnqueueAsync("small", new MemoryStream(new byte[100])));
        var noToken = await Assert.ThrowsAsync<NanoRunException>(() => world.Client.EnqueueAsync("locked", null));
        var wrongToken = await Assert.ThrowsAsync<NanoRunException>(() => world.ClientWithToken("wrong").EnqueueAsync("locked", null));
        var accepted = await world.ClientWithToken("right").EnqueueAsync("locked", null);

        Assert.Equal(NanoRunError.NotFound, missing.Error);
        Assert.Contains("nope", missing.Message, StringComparison.Ordinal);
        Assert.Equal(NanoRunError.NotFound, unknownId.Error);
        Assert.Equal(NanoRunError.TooLarge, tooLarge.Error);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains(noToken.Error, new[] { NanoRunError.Unauthorized, NanoRunError.Forbidden });
        Assert.Contains(wrongToken.Error, new[] { NanoRunError.Unauthorized, NanoRunError.Forbidden });
        Assert.Equal(32, accepted.Length);
    }

    [Fact]
    public async Task AddNanoRunClient_TypedClient_TalksToTheServer()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("ping", unit => unit.Handle((job, ct) => job.ResponseBody.WriteAsync("pong"u8.ToArray(), ct).AsTask())));
        var services = new ServiceCollection();
        services.AddNanoRunClient(world.BaseAddress);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<NanoRunClient>();

        var id = await client.EnqueueAsync("ping", null);
        await client.WaitAsync("ping", id, LibraryWorld.Patience);
        await using var result = await client.GetResultAsync("ping", id);

        Assert.Equal("pong", await new StreamReader(result.Body).ReadToEndAsync());
    }
}
