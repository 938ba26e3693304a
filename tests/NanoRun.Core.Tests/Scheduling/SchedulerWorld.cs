using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NanoRun.Admission;
using NanoRun.Core.Tests.Runners;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Scheduling;
using NanoRun.Storage;
using NanoRun.Storage.Sqlite;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Scheduling;

/// <summary>
/// One test's isolated world: a temp folder with a real SQLite store and body files, the real engine and bin runner,
/// and schedulers on a fake clock whose timers the test can wait for.
/// </summary>
internal sealed class SchedulerWorld : IAsyncDisposable
{
    /// <summary>The fake clock's start: a whole minute, so <c>@every</c> and cron ticks are easy to read.</summary>
    public static readonly DateTimeOffset Start = new(2025, 3, 10, 10, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly List<CronScheduler> _schedulers = [];
    private readonly SqliteRequestStore _store;

    private SchedulerWorld(UnitDefinition[] units)
    {
        Folder = Directory.CreateTempSubdirectory("nano-run-cron-").FullName;
        Clock = new ObservedClock(Time);
        Units = new UnitCatalog(units);
        _store = new SqliteRequestStore(Path.Join(Folder, "data"), Time);
        Blobs = new FileBlobStore(Path.Join(Folder, "data", "blobs"));

        // Leases far longer than any test's fake time, so the lease keeper never runs.
        var options = new EngineOptions { LeaseDuration = TimeSpan.FromDays(30) };
        var runners = TestRunners.ShellAndProxy();
        Engine = new NanoRunEngine(Units, _store, Blobs, runners, options, Time, NullLogger<NanoRunEngine>.Instance);
        Admission = new RequestAdmission(Units, _store, Blobs, options, Time, NullLogger<RequestAdmission>.Instance, Engine.Metrics, Engine, new StoreCircuit(_store, options, Time, NullLogger<StoreCircuit>.Instance));
    }

    public string Folder { get; }

    public FakeTimeProvider Time { get; } = new(Start);

    /// <summary>The clock the schedulers see: the fake clock, counting the timers they create.</summary>
    public ObservedClock Clock { get; }

    public UnitCatalog Units { get; }

    public IRequestStore Store => _store;

    public FileBlobStore Blobs { get; }

    public NanoRunEngine Engine { get; }

    public RequestAdmission Admission { get; }

    public RecordingLogger<CronScheduler> Log { get; } = new();

    /// <summary>The schedulers created so far, first one first.</summary>
    public IReadOnlyList<CronScheduler> Schedulers => _schedulers;

    /// <summary>Starts the engine over a fresh store and one scheduler, and waits until that scheduler armed <paramref name="timers"/> timers.</summary>
    public static async Task<SchedulerWorld> StartAsync(int timers, params UnitDefinition[] units)
    {
        var world = new SchedulerWorld(units);
        await world.Engine.StartAsync(CancellationToken.None);
        await world.StartSchedulerAsync(timers);
        return world;
    }

    /// <summary>A bin unit named <paramref name="name"/> with the given schedules.</summary>
    public static UnitDefinition Unit(string name, string command, params CronEntry[] cron) =>
        new() { Name = name, Command = command, Cron = cron, Attempts = 1 };

    /// <summary>Creates and starts another scheduler over the same engine (a second node, or a restart), then waits for its timers.</summary>
    public async Task<CronScheduler> StartSchedulerAsync(int timers)
    {
        var scheduler = NewScheduler();
        await scheduler.StartAsync(CancellationToken.None);
        await Clock.WaitForTimersAsync(timers);
        return scheduler;
    }

    public CronScheduler NewScheduler()
    {
        var scheduler = new CronScheduler(Units, Admission, Clock, Log);
        _schedulers.Add(scheduler);
        return scheduler;
    }

    /// <summary>Moves the fake clock on and waits until the schedulers re-armed <paramref name="timers"/> timers, i.e. handled the tick.</summary>
    public async Task AdvanceAsync(TimeSpan by, int timers = 1)
    {
        Time.Advance(by);
        await Clock.WaitForTimersAsync(timers);
    }

    /// <summary>The unit's requests, oldest first.</summary>
    public async Task<List<RequestSummary>> RequestsAsync(string unit)
    {
        var list = new List<RequestSummary>();
        await foreach (var summary in Store.PageAsync(new PageParams(unit, 1000)))
        {
            list.Insert(0, summary);
        }

        return list;
    }

    /// <summary>Waits until the request is final and returns its record with the last attempt's result as text.</summary>
    public async Task<(RequestRecord Record, string Result)> WaitFinalAsync(string id)
    {
        using var patience = new CancellationTokenSource(Patience);
        var record = await Engine.WaitForFinalAsync(id, TimeSpan.FromDays(365), patience.Token);
        Assert.NotNull(record);
        Assert.True(record.State.IsFinal(), $"request {id} is {record.State}");
        await using var stream = await Blobs.OpenReadAsync(record.Attempts[^1].Result);
        Assert.NotNull(stream);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return (record, await reader.ReadToEndAsync());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var scheduler in _schedulers)
        {
            await scheduler.DisposeAsync();
        }

        await Engine.StopAsync(CancellationToken.None);
        await Engine.DisposeAsync();
        await _store.DisposeAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A clock over the fake one that signals each timer created, so a test knows a loop went back to sleep.</summary>
    internal sealed class ObservedClock(FakeTimeProvider inner) : TimeProvider
    {
        private readonly SemaphoreSlim _created = new(0, int.MaxValue);

        public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = inner.CreateTimer(callback, state, dueTime, period);
            _created.Release();
            return timer;
        }

        public async Task WaitForTimersAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await _created.WaitAsync(Patience), "the scheduler did not go back to sleep in time");
            }
        }
    }
}
