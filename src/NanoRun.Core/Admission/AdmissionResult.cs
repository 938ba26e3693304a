using System.Globalization;

namespace NanoRun.Admission;

/// <summary>What the admission rule decided about one new request; every refusal stores nothing.</summary>
internal enum AdmissionOutcome
{
    /// <summary>The request may be stored and queued.</summary>
    Admitted,

    /// <summary>The unit's <c>rate</c> bucket is empty; a token returns after <see cref="AdmissionResult.RetryAfter"/>.</summary>
    RateLimited,

    /// <summary>The unit's <c>max_queue</c> requests are already waiting.</summary>
    QueueFull,

    /// <summary>The data folder's file system is below <c>min_free_disk</c>.</summary>
    DiskLow,

    /// <summary>The data folder ran out of space while the body was saved; the partial body was removed.</summary>
    DiskFull,
}

/// <summary>The decision of the admission rule for one new request, with the reason a person reads and when to try again.</summary>
internal sealed class AdmissionResult
{
    private AdmissionResult(AdmissionOutcome outcome, string reason, TimeSpan retryAfter)
    {
        Outcome = outcome;
        Reason = reason;
        RetryAfter = retryAfter;
    }

    /// <summary>The one admitted value.</summary>
    public static AdmissionResult Admitted { get; } = new(AdmissionOutcome.Admitted, string.Empty, TimeSpan.Zero);

    public AdmissionOutcome Outcome { get; }

    /// <summary>Why the request was refused, in a sentence without a final period; empty when admitted.</summary>
    public string Reason { get; }

    /// <summary>How long the caller should wait before sending again; zero when admitted.</summary>
    public TimeSpan RetryAfter { get; }

    public bool IsAdmitted => Outcome == AdmissionOutcome.Admitted;

    /// <summary>The reason's stable name for JSON and metrics: <c>rate</c>, <c>queue_full</c>, <c>disk_low</c> or <c>disk_full</c>.</summary>
    public string Code => Outcome switch
    {
        AdmissionOutcome.RateLimited => "rate",
        AdmissionOutcome.QueueFull => "queue_full",
        AdmissionOutcome.DiskLow => "disk_low",
        AdmissionOutcome.DiskFull => "disk_full",
        _ => "admitted",
    };

    public static AdmissionResult RateLimited(string unit, Units.UnitRateLimit rate, TimeSpan retryAfter) => new(
        AdmissionOutcome.RateLimited,
        string.Create(CultureInfo.InvariantCulture, $"unit {unit} accepts at most {rate.PerSecond} requests per second (burst {rate.Burst})"),
        retryAfter);

    public static AdmissionResult QueueFull(string unit, long maxQueue) => new(
        AdmissionOutcome.QueueFull,
        string.Create(CultureInfo.InvariantCulture, $"unit {unit} already has max_queue ({maxQueue}) requests waiting"),
        TimeSpan.FromSeconds(1));

    public static AdmissionResult DiskLow { get; } = new(AdmissionOutcome.DiskLow, "the data folder is low on free space", TimeSpan.FromSeconds(1));

    public static AdmissionResult DiskFull { get; } = new(AdmissionOutcome.DiskFull, "the data folder ran out of space while saving the request", TimeSpan.FromSeconds(5));
}
