using System.Globalization;

namespace NanoRun.Admission;

/// <summary>What admission decided about one new request; every refusal stores nothing.</summary>
public enum AdmissionOutcome
{
    /// <summary>The request was stored and queued (or, before storing, may be).</summary>
    Admitted,

    /// <summary>A request with the same idempotency or dedupe key was stored earlier; its id is answered and nothing new is stored.</summary>
    Replayed,

    /// <summary>The unit's <c>rate</c> bucket is empty; a token returns after <see cref="AdmissionResult.RetryAfter"/> (HTTP 429).</summary>
    RateLimited,

    /// <summary>The unit's <c>max_queue</c> requests are already waiting (HTTP 503).</summary>
    QueueFull,

    /// <summary>The data folder's file system is below <c>min_free_disk</c> (HTTP 503).</summary>
    DiskLow,

    /// <summary>The data folder ran out of space while the body was saved; the partial body was removed (HTTP 507).</summary>
    DiskFull,

    /// <summary>The body is larger than the unit's <c>max_request</c>; the partial body was removed (HTTP 413).</summary>
    TooLarge,

    /// <summary>The request stored under the same key was removed between the insert and its look-up; send again (HTTP 409).</summary>
    Conflict,

    /// <summary>No unit of that name takes new requests (HTTP 404).</summary>
    UnknownUnit,

    /// <summary>The store cannot be reached or written now (a database restarting or away, a read-only disk); nothing is acknowledged (HTTP 503).</summary>
    StoreUnavailable,
}

/// <summary>The decision of admission for one new request, with the reason a person reads and when to try again.</summary>
public sealed class AdmissionResult
{
    private AdmissionResult(AdmissionOutcome outcome, string reason, TimeSpan retryAfter)
    {
        Outcome = outcome;
        Reason = reason;
        RetryAfter = retryAfter;
    }

    /// <summary>The one admitted value.</summary>
    public static AdmissionResult Admitted { get; } = new(AdmissionOutcome.Admitted, string.Empty, TimeSpan.Zero);

    /// <summary>The one replayed value: the request under the same key was stored earlier.</summary>
    public static AdmissionResult Replayed { get; } = new(AdmissionOutcome.Replayed, string.Empty, TimeSpan.Zero);

    /// <summary>What was decided.</summary>
    public AdmissionOutcome Outcome { get; }

    /// <summary>Why the request was refused, in a sentence without a final period; empty when admitted or replayed.</summary>
    public string Reason { get; }

    /// <summary>How long the caller should wait before sending again; zero when admitted or replayed.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>Whether the request is stored: <see cref="AdmissionOutcome.Admitted"/> or <see cref="AdmissionOutcome.Replayed"/>.</summary>
    public bool IsAdmitted => Outcome is AdmissionOutcome.Admitted or AdmissionOutcome.Replayed;

    /// <summary>
    /// The reason's stable name for JSON and metrics: <c>rate</c>, <c>queue_full</c>, <c>disk_low</c>, <c>disk_full</c>,
    /// <c>too_large</c>, <c>conflict</c>, <c>unknown_unit</c> or <c>store_unavailable</c>; <c>admitted</c> or <c>replayed</c> otherwise.
    /// </summary>
    public string Code => Outcome switch
    {
        AdmissionOutcome.RateLimited => "rate",
        AdmissionOutcome.QueueFull => "queue_full",
        AdmissionOutcome.DiskLow => "disk_low",
        AdmissionOutcome.DiskFull => "disk_full",
        AdmissionOutcome.TooLarge => "too_large",
        AdmissionOutcome.Conflict => "conflict",
        AdmissionOutcome.UnknownUnit => "unknown_unit",
        AdmissionOutcome.StoreUnavailable => "store_unavailable",
        AdmissionOutcome.Replayed => "replayed",
        _ => "admitted",
    };

    internal static AdmissionResult RateLimited(string unit, Units.UnitRateLimit rate, TimeSpan retryAfter) => new(
        AdmissionOutcome.RateLimited,
        string.Create(CultureInfo.InvariantCulture, $"unit {unit} accepts at most {rate.PerSecond} requests per second (burst {rate.Burst})"),
        retryAfter);

    internal static AdmissionResult QueueFull(string unit, long maxQueue) => new(
        AdmissionOutcome.QueueFull,
        string.Create(CultureInfo.InvariantCulture, $"unit {unit} already has max_queue ({maxQueue}) requests waiting"),
        TimeSpan.FromSeconds(1));

    internal static AdmissionResult TooLarge(long maxRequest) => new(
        AdmissionOutcome.TooLarge,
        string.Create(CultureInfo.InvariantCulture, $"request body is larger than the unit's max_request of {maxRequest} bytes"),
        TimeSpan.Zero);

    internal static AdmissionResult UnknownUnit(string unit) => new(
        AdmissionOutcome.UnknownUnit,
        string.Create(CultureInfo.InvariantCulture, $"no unit named '{unit}' takes new requests"),
        TimeSpan.Zero);

    internal static AdmissionResult DiskLow { get; } = new(AdmissionOutcome.DiskLow, "the data folder is low on free space", TimeSpan.FromSeconds(1));

    internal static AdmissionResult DiskFull { get; } = new(AdmissionOutcome.DiskFull, "the data folder ran out of space while saving the request", TimeSpan.FromSeconds(5));

    internal static AdmissionResult StoreUnavailable { get; } = new(AdmissionOutcome.StoreUnavailable, "the store cannot be reached now; nothing was saved, send again later", Storage.StoreFaults.RetryAfter);

    internal static AdmissionResult Conflict { get; } = new(AdmissionOutcome.Conflict, "the request stored under this Idempotency-Key was removed meanwhile; send again", TimeSpan.Zero);
}
