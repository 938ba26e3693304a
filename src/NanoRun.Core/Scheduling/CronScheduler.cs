using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using NanoRun.Admission;
using NanoRun.Control;
using NanoRun.Maintenance;
using NanoRun.Requests;
using NanoRun.Units;

namespace NanoRun.Scheduling;

/// <summary>
/// Queues a request for a unit at every tick of each of its <c>cron</c> entries (docs/schedules.md), private units included and
/// without unit authorization. One loop per entry sleeps until its next tick, so a slow enqueue of one entry never delays
/// another.
/// </summary>
/// <remarks>
/// Ticks continue from the current time after a start: a tick missed while the process was down, or while an enqueue
/// was still running, is not replayed. Each tick carries a dedupe key made of unit, entry and tick time, so nodes
/// sharing one store queue it once.
/// </remarks>
internal sealed partial class CronScheduler : BackgroundRole, IScheduleStatus
{
    /// <summary>The method of every scheduled request.</summary>
    public const string Method = "POST";

    // Longest single sleep: long ticks (@yearly) sleep in slices, which also bounds the effect of a wall-clock jump.
    private static readonly TimeSpan MaxSleep = TimeSpan.FromHours(1);

    private readonly UnitCatalog _units;
    private readonly RequestAdmission _admission;
    private readonly TimeProvider _time;
    private readonly ILogger<CronScheduler> _logger;
    private readonly UnitPauses? _pauses;
    private readonly Lock _lock = new();

    // The schedules in force per unit, and whether they run (started and not stopping); guarded by _lock.
    private readonly Dictionary<string, UnitSchedules> _byUnit = new(StringComparer.Ordinal);
    private bool _active;

    // Every entry in force, replaced as a whole for lock-free reads by pages.
    private ScheduledEntry[] _entries;

    /// <remarks>With <c>pauses</c>, a paused entry's ticks queue nothing; without, no entry is ever paused.</remarks>
    /// <exception cref="InvalidOperationException">An entry has an invalid spec or time zone (units defined in code skip the loader's checks).</exception>
    public CronScheduler(UnitCatalog units, RequestAdmission admission, TimeProvider time, ILogger<CronScheduler> logger, UnitPauses? pauses = null)
        : base(time)
    {
        _pauses = pauses;
        _units = units;
        foreach (var unit in units.All)
        {
            _byUnit.Add(unit.Name, new UnitSchedules(unit, Prepare(unit), CancellationTokenSource.CreateLinkedTokenSource(Stopping)));
        }

        _entries = AllEntries();
        _admission = admission;
        _time = time;
        _logger = logger;
    }

    /// <summary>Starts one loop per entry, each sleeping until its first tick after now. Starting after a stop does nothing.</summary>
    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _active = true;
            var loops = 0;
            foreach (var schedules in _byUnit.Values)
            {
                loops += StartLocked(schedules);
            }

            _units.Changed += OnUnitsChanged;
            LogStarted(_logger, loops);
        }

        // A reload between construction and start is picked up here.
        OnUnitsChanged();
        return Task.CompletedTask;
    }

    /// <summary>Stops the loops; an enqueue in progress is cancelled. Stopping before start or twice does nothing more.</summary>
    protected override Task OnStoppingAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _active = false;
            _units.Changed -= OnUnitsChanged;
        }

        return Task.CompletedTask;
    }

    protected override ValueTask OnDisposeAsync()
    {
        lock (_lock)
        {
            foreach (var schedules in _byUnit.Values)
            {
                schedules.Stop.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Brings the schedules in line with the catalog: a new or changed unit's entries start over from now, a removed unit's stop.</summary>
    private void OnUnitsChanged()
    {
        lock (_lock)
        {
            if (!_active)
            {
                return;
            }

            var changed = false;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var unit in _units.All)
            {
                names.Add(unit.Name);
                if (_byUnit.TryGetValue(unit.Name, out var current) && ReferenceEquals(current.Unit, unit))
                {
                    continue;
                }

                changed = true;
                if (current is not null)
                {
                    StopLocked(current);
                }

                List<ScheduledEntry> entries;
                try
                {
                    entries = Prepare(unit);
                }
                catch (InvalidOperationException e)
                {
                    LogInvalidSchedule(_logger, unit.Name, e.Message);
                    entries = [];
                }

                var schedules = new UnitSchedules(unit, entries, CancellationTokenSource.CreateLinkedTokenSource(Stopping));
                _byUnit[unit.Name] = schedules;
                StartLocked(schedules);
            }

            foreach (var (name, schedules) in _byUnit)
            {
                if (!names.Contains(name))
                {
                    changed = true;
                    StopLocked(schedules);
                    _byUnit.Remove(name);
                }
            }

            if (changed)
            {
                Volatile.Write(ref _entries, AllEntries());
            }
        }
    }

    /// <summary>Starts a loop for each entry of <paramref name="schedules"/> that has a tick ahead; returns how many started.</summary>
    private int StartLocked(UnitSchedules schedules)
    {
        var now = _time.GetUtcNow();
        var stop = schedules.Stop.Token;
        foreach (var entry in schedules.Entries)
        {
            if (entry.Schedule.NextAfter(now) is { } first)
            {
                // Each loop ends with its unit's token, which the scheduler's stop fires too; the stop waits for it.
                var loop = Task.Run(() => RunAsync(entry, first, stop), CancellationToken.None);
                schedules.Loops.Add(loop);
                Track(loop);
            }
        }

        return schedules.Loops.Count;
    }

    private static void StopLocked(UnitSchedules schedules)
    {
        schedules.Stop.Cancel();
        _ = Task.WhenAll(schedules.Loops).ContinueWith(
            static (_, stop) => ((CancellationTokenSource)stop!).Dispose(),
            schedules.Stop,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private ScheduledEntry[] AllEntries()
    {
        var all = new List<ScheduledEntry>();
        foreach (var schedules in _byUnit.Values)
        {
            all.AddRange(schedules.Entries);
        }

        return [.. all];
    }

    /// <summary>The dedupe key of one tick: the same on every node for the same unit, entry (name, or index when unnamed) and tick time.</summary>
    /// <remarks>Unit names hold no <c>:</c>, and the free-form entry name comes last behind its kind, so two entries never share a key.</remarks>
    internal static string DedupeKey(string unit, string? entryName, int entryIndex, DateTimeOffset tick) =>
        entryName is null
            ? string.Create(CultureInfo.InvariantCulture, $"cron:{unit}:{tick.ToUnixTimeMilliseconds()}:index:{entryIndex}")
            : string.Create(CultureInfo.InvariantCulture, $"cron:{unit}:{tick.ToUnixTimeMilliseconds()}:name:{entryName}");

    /// <summary>The URI recorded for a scheduled request: the unit's API path with the entry in the query.</summary>
    internal static string UriOf(string unit, string entryLabel) => $"/api/{unit}/?cron={Uri.EscapeDataString(entryLabel)}";

    private static List<ScheduledEntry> Prepare(UnitDefinition unit)
    {
        var entries = new List<ScheduledEntry>();
        for (var i = 0; i < unit.Cron.Count; i++)
        {
            var entry = unit.Cron[i];
            var label = entry.Name ?? i.ToString(CultureInfo.InvariantCulture);
            if (!CronSchedule.TryParse(entry.Spec, entry.TimeZone, out var schedule, out var error))
            {
                throw new InvalidOperationException(
                    $"unit '{unit.Name}' ({unit.SourceFile ?? "defined in code"}), schedule {label}: {error}");
            }

            // Config-sized text, encoded once; each tick reads it through its own read-only stream.
            var content = entry.Content is null ? null : Encoding.UTF8.GetBytes(entry.Content);
            entries.Add(new ScheduledEntry(unit, entry, i, label, schedule, content, UriOf(unit.Name, label)));
        }

        return entries;
    }

    private async Task RunAsync(ScheduledEntry entry, DateTimeOffset tick, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await SleepUntilAsync(tick, stop).ConfigureAwait(false);
                if (await IsPausedAsync(entry, stop).ConfigureAwait(false))
                {
                    LogTickPaused(_logger, entry.Unit.Name, entry.Label, tick);
                }
                else
                {
                    await FireAsync(entry, tick, DedupeKey(entry.Unit.Name, entry.Entry.Name, entry.Index, tick), stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogTickFailed(_logger, entry.Unit.Name, entry.Label, tick, e);
            }

            // The next tick follows the one just handled; one that is already past is skipped, not replayed.
            var now = _time.GetUtcNow();
            var next = entry.Schedule.NextAfter(tick);
            if (next is { } n && n < now)
            {
                next = entry.Schedule.NextAfter(now);
            }

            if (next is not { } following)
            {
                LogNoMoreTicks(_logger, entry.Unit.Name, entry.Label);
                return;
            }

            tick = following;
        }
    }

    private async Task SleepUntilAsync(DateTimeOffset tick, CancellationToken stop)
    {
        while (true)
        {
            var left = tick - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(left < MaxSleep ? left : MaxSleep, _time, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Queues the entry's request under <paramref name="dedupeKey"/>; <c>null</c> when its content file cannot be read.</summary>
    private async Task<EnqueueResult?> FireAsync(ScheduledEntry entry, DateTimeOffset tick, string dedupeKey, CancellationToken stop)
    {
        Stream body;
        if (entry.Content is { } content)
        {
            body = new MemoryStream(content, writable: false);
        }
        else if (entry.Entry.ContentFile is { } path)
        {
            try
            {
                body = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogContentFileMissing(_logger, entry.Unit.Name, entry.Label, path, e.Message);
                return null;
            }
        }
        else
        {
            body = Stream.Null;
        }

        await using (body.ConfigureAwait(false))
        {
            var request = new IncomingRequest(Method, entry.Uri, entry.Headers, body);
            var result = await _admission.EnqueueOnceAsync(entry.Unit, request, dedupeKey, stop).ConfigureAwait(false);
            if (result.Id is null)
            {
                // A fire takes the same admission rule as any request: a refused tick is skipped, not kept for later.
                entry.LastRefusal = result.Admission;
                LogTickRefused(_logger, entry.Unit.Name, entry.Label, tick, result.Admission.Reason);
            }
            else if (result.Admission.Outcome == AdmissionOutcome.Replayed)
            {
                LogTickTaken(_logger, entry.Unit.Name, entry.Label, tick);
            }
            else
            {
                entry.LastRequestId = result.Id;
                LogTickQueued(_logger, entry.Unit.Name, entry.Label, tick, result.Id);
            }

            return result;
        }
    }

    /// <summary>The entry's next tick after now and the request this node last queued for it (since it started), for display.</summary>
    public (DateTimeOffset? NextTick, string? LastRequestId) Describe(string unit, int index)
    {
        foreach (var entry in Volatile.Read(ref _entries))
        {
            if (entry.Index == index && string.Equals(entry.Unit.Name, unit, StringComparison.Ordinal))
            {
                return (entry.Schedule.NextAfter(_time.GetUtcNow()), entry.LastRequestId);
            }
        }

        return (null, null);
    }

    /// <summary>Admission's last refusal of a tick of the entry on this node (since it started), or <c>null</c> when none was refused.</summary>
    public AdmissionResult? LastRefusal(string unit, int index)
    {
        foreach (var entry in Volatile.Read(ref _entries))
        {
            if (entry.Index == index && string.Equals(entry.Unit.Name, unit, StringComparison.Ordinal))
            {
                return entry.LastRefusal;
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Scheduler started with {Count} schedules")]
    private static partial void LogStarted(ILogger logger, int count);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Unit {Unit} schedule {Entry}: tick {Tick:o} queued as {RequestId}")]
    private static partial void LogTickQueued(ILogger logger, string unit, string entry, DateTimeOffset tick, string requestId);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Debug, Message = "Unit {Unit} schedule {Entry}: tick {Tick:o} was queued already (by another node)")]
    private static partial void LogTickTaken(ILogger logger, string unit, string entry, DateTimeOffset tick);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Error, Message = "Unit {Unit} schedule {Entry}: content_file {Path} cannot be read ({Reason}); tick skipped, the next one tries again")]
    private static partial void LogContentFileMissing(ILogger logger, string unit, string entry, string path, string reason);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Error, Message = "Unit {Unit} schedule {Entry}: tick {Tick:o} could not be queued; the next one tries again")]
    private static partial void LogTickFailed(ILogger logger, string unit, string entry, DateTimeOffset tick, Exception exception);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Unit {Unit} schedule {Entry}: no further ticks")]
    private static partial void LogNoMoreTicks(ILogger logger, string unit, string entry);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "Unit {Unit} schedule {Entry}: tick {Tick:o} not queued: {Reason}; tick skipped, the next one tries again")]
    private static partial void LogTickRefused(ILogger logger, string unit, string entry, DateTimeOffset tick, string reason);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Error, Message = "Unit {Unit}: schedules not started: {Reason}")]
    private static partial void LogInvalidSchedule(ILogger logger, string unit, string reason);

    /// <summary>The schedules of one unit definition and the loops that run them.</summary>
    private sealed class UnitSchedules(UnitDefinition unit, List<ScheduledEntry> entries, CancellationTokenSource stop)
    {
        public UnitDefinition Unit { get; } = unit;

        public List<ScheduledEntry> Entries { get; } = entries;

        /// <summary>Linked to the scheduler's stop; fires when the unit is replaced or removed.</summary>
        public CancellationTokenSource Stop { get; } = stop;

        public List<Task> Loops { get; } = [];
    }

    /// <summary>One entry ready to run: its parsed schedule, encoded content and fixed request parts.</summary>
    private sealed class ScheduledEntry(UnitDefinition unit, CronEntry entry, int index, string label, CronSchedule schedule, byte[]? content, string uri)
    {
        public UnitDefinition Unit { get; } = unit;

        public CronEntry Entry { get; } = entry;

        public int Index { get; } = index;

        public string Label { get; } = label;

        public CronSchedule Schedule { get; } = schedule;

        public byte[]? Content { get; } = content;

        public string Uri { get; } = uri;

        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; } = [.. entry.Headers];

        /// <summary>The request this node last queued for the entry; written by the entry's loop, read by pages.</summary>
        public string? LastRequestId
        {
            get => Volatile.Read(ref _lastRequestId);
            set => Volatile.Write(ref _lastRequestId, value);
        }

        private string? _lastRequestId;

        /// <summary>Admission's last refusal of a tick of this entry; written by the entry's loop, read by pages.</summary>
        public AdmissionResult? LastRefusal
        {
            get => Volatile.Read(ref _lastRefusal);
            set => Volatile.Write(ref _lastRefusal, value);
        }

        private AdmissionResult? _lastRefusal;
    }
}
