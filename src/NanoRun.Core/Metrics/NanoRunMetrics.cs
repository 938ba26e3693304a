using System.Diagnostics.Metrics;
using NanoRun.Units;

namespace NanoRun.Metrics;

/// <summary>
/// The engine's instruments on the <c>NanoRun</c> meter. Recording never allocates: tags are the unit's own name and
/// constant strings, passed as individual pairs; exporting them is the host's business. A private unit is never named:
/// its series carry the label <see cref="PrivateUnit"/>, so all private units together appear as one count.
/// </summary>
internal sealed class NanoRunMetrics : IDisposable
{
    /// <summary>Name of the meter every Nano-Run instrument belongs to.</summary>
    public const string MeterName = INanoRunMeter.Name;

    /// <summary>The <c>unit</c> label of every private unit's series.</summary>
    public const string PrivateUnit = "(private)";

    private static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    private readonly Meter _meter;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _attempts;
    private readonly Histogram<double> _attemptDuration;
    private readonly Counter<long> _retentionDeleted;
    private readonly Histogram<double> _storeDuration;
    private IQueueObserver? _queues;

    private readonly UnitCatalog? _units;

    /// <param name="meterFactory">Creates the meter; without one the meter is process-wide.</param>
    /// <param name="units">Tells which units are private; without it every unit is labelled by name.</param>
    public NanoRunMetrics(IMeterFactory? meterFactory = null, UnitCatalog? units = null)
    {
        _units = units;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _accepted = _meter.CreateCounter<long>("nanorun.requests.accepted", "{request}", "Requests saved and queued, by unit.");
        _refused = _meter.CreateCounter<long>("nanorun.requests.refused", "{request}", "Requests refused before anything was queued, by unit and reason.");
        _attempts = _meter.CreateCounter<long>("nanorun.attempts", "{attempt}", "Finished attempts, by unit, the request's state afterwards and the answer's status class.");
        _attemptDuration = _meter.CreateHistogram<double>("nanorun.attempt.duration", "s", "How long attempts ran, by unit and status class.");
        _retentionDeleted = _meter.CreateCounter<long>("nanorun.retention.deleted", "{request}", "Finished requests removed by retention, by unit.");
        _storeDuration = _meter.CreateHistogram<double>("nanorun.store.duration", "s", "Latency of the engine's store calls, by operation.");
        QueueDepth = _meter.CreateObservableGauge("nanorun.queue.depth", ObserveQueueDepth, "{request}", "Requests queued or waiting for a retry, by unit (read from the store).");
        _meter.CreateObservableGauge("nanorun.queue.oldest_age", ObserveOldestAge, "s", "How long the most overdue waiting request has been due, by unit; 0 when none waits.");
        _meter.CreateObservableGauge("nanorun.attempts.running", ObserveRunning, "{attempt}", "Attempts running on this node, by unit.");
    }

    /// <summary>The queue-depth gauge; when nothing listens to it, the store is never asked for gauge values.</summary>
    public ObservableInstrument<long> QueueDepth { get; }

    /// <summary>Connects the gauges to the engine's queues; until then they report nothing.</summary>
    public void Observe(IQueueObserver queues) => _queues = queues;

    public void Accepted(string unit) => _accepted.Add(1, UnitTag(unit));

    public void Refused(string unit, string reason) =>
        _refused.Add(1, UnitTag(unit), new KeyValuePair<string, object?>("reason", reason));

    public void AttemptFinished(string unit, int code, Requests.RequestState state, TimeSpan duration)
    {
        var statusClass = StatusClass(code);
        var unitTag = UnitTag(unit);
        var classTag = new KeyValuePair<string, object?>("status_class", statusClass);
        _attempts.Add(1, unitTag, new KeyValuePair<string, object?>("outcome", Requests.RequestStates.ToWire(state)), classTag);
        _attemptDuration.Record(duration.TotalSeconds, unitTag, classTag);
    }

    public void RetentionDeleted(string unit, int count)
    {
        if (count > 0)
        {
            _retentionDeleted.Add(count, UnitTag(unit));
        }
    }

    /// <summary>Records the latency of one store call; <paramref name="operation"/> is a constant such as <c>enqueue</c>.</summary>
    public void StoreCall(string operation, TimeSpan duration) =>
        _storeDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("operation", operation));

    public void Dispose() => _meter.Dispose();

    /// <summary>The label a unit's series carry: its name, or <see cref="PrivateUnit"/> for a private unit.</summary>
    internal string UnitLabel(string unit) => IsPrivate(unit) ? PrivateUnit : unit;

    /// <summary>Whether <paramref name="unit"/> is private, also when a reload removed it since.</summary>
    internal bool IsPrivate(string unit) =>
        _units is not null && _units.FindKnown(unit) is { Private: true };

    private KeyValuePair<string, object?> UnitTag(string unit) => new("unit", UnitLabel(unit));

    /// <summary>The constant label of an HTTP status code: <c>2xx</c>, <c>5xx</c>…; codes outside 100–599 count as <c>5xx</c>.</summary>
    internal static string StatusClass(int code) => code is >= 100 and < 600 ? StatusClasses[(code / 100) - 1] : StatusClasses[4];

    private IEnumerable<Measurement<long>> ObserveQueueDepth() => _queues?.QueueDepths() ?? [];

    private IEnumerable<Measurement<double>> ObserveOldestAge() => _queues?.OldestAges() ?? [];

    private IEnumerable<Measurement<long>> ObserveRunning() => _queues?.Running() ?? [];
}

/// <summary>Gauge values of the engine's queues, read when the meter is collected.</summary>
internal interface IQueueObserver
{
    IEnumerable<Measurement<long>> QueueDepths();

    IEnumerable<Measurement<double>> OldestAges();

    IEnumerable<Measurement<long>> Running();
}

/// <summary>Labels of <c>nanorun.requests.refused</c>.</summary>
internal static class RefusalReasons
{
    /// <summary>The unit's authorization refused the caller (401 or 403).</summary>
    public const string Auth = "auth";

    /// <summary>The body is over the unit's <c>max_request</c> (413).</summary>
    public const string TooLarge = "too_large";

    /// <summary>The unit already has <c>max_queue</c> requests waiting (503).</summary>
    public const string QueueFull = "queue_full";

    /// <summary>The data folder is below <c>min_free_disk</c> or ran out of space while saving (503, 507).</summary>
    public const string DiskFull = "disk_full";

    /// <summary>A rate limit refused the caller (429).</summary>
    public const string Rate = "rate";

    /// <summary>The store could not be reached or written (503).</summary>
    public const string StoreUnavailable = "store_unavailable";
}

/// <summary>Labels of <c>nanorun.store.duration</c>.</summary>
internal static class StoreOperations
{
    public const string Enqueue = "enqueue";
    public const string Claim = "claim";
    public const string RecordAttempt = "record_attempt";
    public const string Purge = "purge";
    public const string Count = "count";
}
