using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NanoRun.Admission;
using NanoRun.Core.Tests.Runners;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Storage.Sqlite;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Queue;

/// <summary>The real engine, SQLite store and bin runner on a fake clock: each retry is due exactly when the policy says.</summary>
public sealed class BackoffTimingTests
{
    private static readonly DateTimeOffset Start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Engine_ExponentialBackoff_SchedulesEachRetryAtDoubledIntervalUpToMax()
    {
        var unit = new UnitDefinition
        {
            Name = "flaky",
            Command = "exit 3",
            Attempts = 4,
            Interval = TimeSpan.FromSeconds(1),
            Retry = new RetryPolicy { Backoff = BackoffKind.Exponential, MaxInterval = TimeSpan.FromSeconds(3) },
        };
        await using var world = await BackoffWorld.StartAsync(unit);
        var id = await world.EnqueueAsync(unit);

        var dues = new List<TimeSpan>();
        var starts = new List<TimeSpan>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var record = await world.WaitForAttemptsAsync(id, attempt);
            starts.Add(record.Attempts[^1].StartedAt - Start);
            var due = await world.Store.NextDueAsync(unit.Name);
            dues.Add(due!.Value - world.Time.GetUtcNow());
            world.Time.Advance(due.Value - world.Time.GetUtcNow());
        }

        var final = await world.WaitForAttemptsAsync(id, 4);

        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)], dues);
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)], starts);
        Assert.Equal(TimeSpan.FromSeconds(6), final.Attempts[^1].StartedAt - Start);
        Assert.Equal(RequestState.Failed, final.State);
    }

    [Fact]
    public async Task Engine_DelayedRequest_FirstAttemptStartsAtNotBeforeAndRetriesFollowTheInterval()
    {
        var unit = new UnitDefinition { Name = "later", Command = "exit 3", Attempts = 2, Interval = TimeSpan.FromSeconds(5) };
        await using var world = await BackoffWorld.StartAsync(unit);
        var notBefore = Start + TimeSpan.FromSeconds(90);
        var request = new IncomingRequest("POST", "/api/later/?delay=90s", [], Stream.Null) { NotBefore = notBefore };

        var id = (await world.Admission.EnqueueAsync(unit, request, CancellationToken.None)).Id!;
        var due = await world.Store.NextDueAsync(unit.Name);
        var queued = await world.Store.GetAsync(id);
        world.Time.Advance(TimeSpan.FromSeconds(90));
        var first = await world.WaitForAttemptsAsync(id, 1);
        world.Time.Advance(TimeSpan.FromSeconds(5));
        var final = await world.WaitForAttemptsAsync(id, 2);

        Assert.Equal(notBefore, due);
        Assert.Equal(RequestState.Queued, queued!.State);
        Assert.Equal(notBefore, queued.NotBefore);
        Assert.Equal(notBefore, first.Attempts[0].StartedAt);
        Assert.Equal(notBefore + TimeSpan.FromSeconds(5), final.Attempts[1].StartedAt);
        Assert.Equal(notBefore, final.NotBefore);
    }

    [Fact]
    public async Task Engine_FixedDefault_SchedulesRetryAfterIntervalAndIgnoresRetryAfterHeader()
    {
        var unit = new UnitDefinition { Name = "plain", Mode = UnitModes.Cgi, Command = "printf 'Status: 503\\r\\nRetry-After: 60\\r\\n\\r\\n'", Attempts = 2, Interval = TimeSpan.FromSeconds(5) };
        await using var world = await BackoffWorld.StartAsync(unit);
        var id = await world.EnqueueAsync(unit);

        var first = await world.WaitForAttemptsAsync(id, 1);
        var due = await world.Store.NextDueAsync(unit.Name);

        Assert.Equal(503, first.Attempts[0].Code);
        Assert.Equal(TimeSpan.FromSeconds(5), due - world.Time.GetUtcNow());
    }

    [Fact]
    public async Task Engine_RetryAfterHonoured_SchedulesRetryAtHeaderBoundedByMax()
    {
        var unit = new UnitDefinition
        {
            Name = "busy",
            Mode = UnitModes.Cgi,
            Command = "printf 'Status: 503\\r\\nRetry-After: 7\\r\\n\\r\\n'",
            Attempts = 2,
            Interval = TimeSpan.FromSeconds(1),
            Retry = new RetryPolicy { HonourRetryAfter = true, MaxInterval = TimeSpan.FromSeconds(30) },
        };
        await using var world = await BackoffWorld.StartAsync(unit);
        var id = await world.EnqueueAsync(unit);

        await world.WaitForAttemptsAsync(id, 1);
        var due = await world.Store.NextDueAsync(unit.Name);

        Assert.Equal(TimeSpan.FromSeconds(7), due - world.Time.GetUtcNow());
    }

    private sealed class BackoffWorld : IAsyncDisposable
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

        private readonly SqliteRequestStore _store;

        private BackoffWorld(UnitDefinition unit)
        {
            Folder = Directory.CreateTempSubdirectory("nano-run-backoff-").FullName;
            _store = new SqliteRequestStore(Path.Join(Folder, "data"), Time);
            var blobs = new FileBlobStore(Path.Join(Folder, "data", "blobs"));

            // Short real-time polls so a worker notices the fake clock moving; leases never expire within a test.
            var options = new EngineOptions { LeaseDuration = TimeSpan.FromDays(30), PollInterval = TimeSpan.FromMilliseconds(50) };
            var runners = TestRunners.ShellAndProxy();
            var units = new UnitCatalog([unit]);
            Engine = new NanoRunEngine(units, _store, blobs, runners, options, Time, NullLogger<NanoRunEngine>.Instance);
            Admission = new RequestAdmission(units, _store, blobs, options, Time, NullLogger<RequestAdmission>.Instance, Engine.Metrics, Engine, new StoreCircuit(_store, options, Time, NullLogger<StoreCircuit>.Instance));
        }

        public string Folder { get; }

        public FakeTimeProvider Time { get; } = new(Start);

        public SqliteRequestStore Store => _store;

        public NanoRunEngine Engine { get; }

        public RequestAdmission Admission { get; }

        public static async Task<BackoffWorld> StartAsync(UnitDefinition unit)
        {
            var world = new BackoffWorld(unit);
            await world.Engine.StartAsync(CancellationToken.None);
            return world;
        }

        public async Task<string> EnqueueAsync(UnitDefinition unit) =>
            (await Admission.EnqueueAsync(unit, new IncomingRequest("POST", "/api/" + unit.Name + "/", [], Stream.Null), CancellationToken.None)).Id!;

        /// <summary>Polls the store until the request has <paramref name="count"/> attempts and is not running, for at most a minute.</summary>
        public async Task<RequestRecord> WaitForAttemptsAsync(string id, int count)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (true)
            {
                var record = await Store.GetAsync(id);
                if (record is { State: not RequestState.Running } && record.Attempts.Count >= count)
                {
                    Assert.Equal(count, record.Attempts.Count);
                    return record;
                }

                Assert.True(DateTime.UtcNow < deadline, $"request {id} did not reach {count} attempts in time: {record?.State} with {record?.Attempts.Count}");
                await Task.Delay(20);
            }
        }

        public async ValueTask DisposeAsync()
        {
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
    }
}
