using Microsoft.Extensions.Logging.Abstractions;
using NanoRun.Callbacks;
using NanoRun.Core.Tests.Scheduling;
using NanoRun.Queue;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Callbacks;

public sealed class CallbackDispatcherTests
{
    [Fact]
    public void Backoff_DoublesFromFirstRetryUpToTheCap()
    {
        var options = new CallbackOptions { FirstRetry = TimeSpan.FromSeconds(1), MaxRetry = TimeSpan.FromSeconds(10) };

        var delays = Enumerable.Range(1, 6).Select(attempt => CallbackDispatcher.Backoff(options, attempt)).ToArray();

        Assert.Equal([1, 2, 4, 8, 10, 10], delays.Select(d => d.TotalSeconds));
    }

    [Fact]
    public async Task Dispatcher_StartAndStopInAnyOrder_NeverHangs()
    {
        var unit = new UnitDefinition { Name = "job", Command = "echo ok", Callback = new CallbackSettings { Url = new Uri("http://127.0.0.1:9/hook") } };
        await using var world = await SchedulerWorld.StartAsync(0, unit);

        for (var i = 0; i < 200; i++)
        {
            var dispatcher = new CallbackDispatcher(world.Engine, new CallbackOptions(), new EngineOptions(), world.Time, NullLogger<CallbackDispatcher>.Instance);
            var run = (i % 5) switch
            {
                0 => StopThenStartAsync(dispatcher),
                1 => StartThenStopTwiceAsync(dispatcher),
                2 => Task.WhenAll(dispatcher.StartAsync(CancellationToken.None), dispatcher.StopAsync(CancellationToken.None), dispatcher.StopAsync(CancellationToken.None)),
                3 => dispatcher.StartAsync(CancellationToken.None),
                _ => Task.CompletedTask,
            };
            await run.WaitAsync(TimeSpan.FromSeconds(60));
            await dispatcher.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            await dispatcher.DisposeAsync();
        }
    }

    private static async Task StopThenStartAsync(CallbackDispatcher dispatcher)
    {
        await dispatcher.StopAsync(CancellationToken.None);
        await dispatcher.StartAsync(CancellationToken.None);
        await dispatcher.StopAsync(CancellationToken.None);
    }

    private static async Task StartThenStopTwiceAsync(CallbackDispatcher dispatcher)
    {
        await dispatcher.StartAsync(CancellationToken.None);
        await dispatcher.StopAsync(CancellationToken.None);
        await dispatcher.StopAsync(CancellationToken.None);
    }
}
