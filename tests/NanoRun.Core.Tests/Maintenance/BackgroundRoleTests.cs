using Microsoft.Extensions.Logging.Abstractions;
using NanoRun.Callbacks;
using NanoRun.Core.Tests.Runners;
using NanoRun.Core.Tests.Scheduling;
using NanoRun.Execution;
using NanoRun.Maintenance;
using NanoRun.Metrics;
using NanoRun.Queue;
using NanoRun.Retention;
using NanoRun.Scheduling;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Maintenance;

/// <summary>Every background service of the engine survives any order of start, stop and dispose, from any thread.</summary>
public sealed class BackgroundRoleTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Roles =>
        ["engine", "unit workers", "unit worker", "lease keeper", "node heartbeat", "retention", "callbacks", "schedules", "unit folder reloader"];

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Role_StartStopAndDisposeInAnyOrderFromManyThreads_NeverThrowsHangsNorLeavesALoopRunning(string role)
    {
        var unit = new UnitDefinition
        {
            Name = "job",
            Command = "echo ok",
            Callback = new CallbackSettings { Url = new Uri("http://127.0.0.1:9/hook") },
            Cron = [new CronEntry { Spec = "@every 1s" }, new CronEntry { Spec = "* * * * *" }],
        };
        await using var world = await SchedulerWorld.StartAsync(0, unit);
        File.WriteAllText(Path.Join(world.Folder, "job.yaml"), "command: echo ok\n");

        for (var i = 0; i < 60; i++)
        {
            var service = Create(role, world);
            var run = (i % 6) switch
            {
                0 => StartThenStopTwiceAsync(service),
                1 => StopThenStartAsync(service),
                2 => FromManyThreadsAsync(service),
                3 => StartTwiceAsync(service),
                4 => service.StartAsync(CancellationToken.None),
                _ => Task.CompletedTask,
            };
            await run.WaitAsync(Patience);
            await service.DisposeAsync().AsTask().WaitAsync(Patience);
            await service.DisposeAsync().AsTask().WaitAsync(Patience);

            Assert.False(service.HasRunningLoops, $"{role} left a loop running after round {i}");
        }

        Assert.Empty(await world.RequestsAsync("job"));
        Assert.Equal("echo ok", world.Units.Find("job")!.Command);
    }

    private static BackgroundRole Create(string role, SchedulerWorld world)
    {
        var options = new EngineOptions { LeaseDuration = TimeSpan.FromMilliseconds(30), PollInterval = TimeSpan.FromMilliseconds(10) };
        var pauses = new Control.UnitPauses(world.Store, options, TimeProvider.System);
        var executor = new AttemptExecutor(world.Store, world.Blobs, TestRunners.ShellAndProxy(), options, TimeProvider.System, NullLogger.Instance, new NanoRunMetrics(), new CompletionSignals());
        return role switch
        {
            "engine" => new NanoRunEngine(world.Units, world.Store, world.Blobs, TestRunners.ShellAndProxy(), options, TimeProvider.System, NullLogger<NanoRunEngine>.Instance),
            "unit workers" => new UnitWorkers(world.Units, world.Store, executor, options, TimeProvider.System, NullLogger.Instance, new NanoRunMetrics(), pauses),
            "unit worker" => new UnitWorker(
                world.Units.Find("job")!,
                new UnitWorkers(world.Units, world.Store, executor, options, TimeProvider.System, NullLogger.Instance, new NanoRunMetrics(), pauses),
                executor,
                world.Store,
                options,
                TimeProvider.System,
                NullLogger.Instance,
                new NanoRunMetrics(),
                pauses,
                null),
            "lease keeper" => new LeaseKeeper(world.Store, executor, options, TimeProvider.System, NullLogger.Instance),
            "node heartbeat" => new NodeHeartbeat((Storage.INodeStore)world.Store, world.Units, executor, options, TimeProvider.System, NullLogger.Instance),
            "retention" => new RetentionCleaner(world.Units, world.Store, world.Blobs, new RetentionOptions { Interval = TimeSpan.FromMilliseconds(10) }, TimeProvider.System, NullLogger<RetentionCleaner>.Instance),
            "callbacks" => new CallbackDispatcher(world.Engine, new CallbackOptions(), options, TimeProvider.System, NullLogger<CallbackDispatcher>.Instance),
            "schedules" => new CronScheduler(world.Units, world.Admission, world.Clock, NullLogger<CronScheduler>.Instance),
            "unit folder reloader" => new UnitFolderReloader(
                new UnitCatalog(UnitLoader.LoadDirectory(world.Folder)),
                TestRunners.ShellAndProxy(),
                new UnitFolderOptions { Directory = world.Folder, Debounce = TimeSpan.FromMilliseconds(10) },
                NullLogger<UnitFolderReloader>.Instance),
            _ => throw new ArgumentOutOfRangeException(nameof(role), role, "no such role"),
        };
    }

    private static async Task StartThenStopTwiceAsync(BackgroundRole service)
    {
        await service.StartAsync(CancellationToken.None);
        await service.StopAsync(CancellationToken.None);
        await service.StopAsync(CancellationToken.None);
    }

    private static async Task StopThenStartAsync(BackgroundRole service)
    {
        await service.StopAsync(CancellationToken.None);
        await service.StartAsync(CancellationToken.None);
        await service.StopAsync(CancellationToken.None);
    }

    private static async Task StartTwiceAsync(BackgroundRole service)
    {
        await service.StartAsync(CancellationToken.None);
        await service.StartAsync(CancellationToken.None);
    }

    /// <summary>Starts, stops and disposes from eight thread-pool threads at once, released together.</summary>
    private static async Task FromManyThreadsAsync(BackgroundRole service)
    {
        using var go = new ManualResetEventSlim();
        var calls = new Task[8];
        for (var k = 0; k < calls.Length; k++)
        {
            var call = k % 3;
            calls[k] = Task.Run(async () =>
            {
                go.Wait();
                switch (call)
                {
                    case 0:
                        await service.StartAsync(CancellationToken.None);
                        break;
                    case 1:
                        await service.StopAsync(CancellationToken.None);
                        break;
                    default:
                        await service.DisposeAsync();
                        break;
                }
            });
        }

        go.Set();
        await Task.WhenAll(calls);
    }
}
