namespace NanoRun.Storage;

/// <summary>
/// A unit's requests counted over time, for the UI's charts: how many arrived, succeeded and failed in each of a run of
/// equal time buckets.
/// </summary>
/// <remarks>A store that implements this gets charts on the UI's unit and overview pages; one call is one bounded
/// aggregate query over an index, so it stays cheap however many requests are stored outside the window.</remarks>
public interface IActivityStore
{
    /// <summary>
    /// Returns exactly <see cref="ActivityParams.Buckets"/> counts, the first for the bucket that starts at
    /// <see cref="ActivityParams.From"/>. A request counts as received in the bucket holding its creation time, and as
    /// succeeded or failed in the bucket holding its completion time when it ended in that state; times outside the
    /// window are not counted.
    /// </summary>
    Task<IReadOnlyList<ActivityBucket>> CountActivityAsync(ActivityParams activity, CancellationToken cancellationToken = default);
}

/// <summary>The window of an activity count: equal buckets from a start time.</summary>
/// <param name="Unit">The unit's name.</param>
/// <param name="From">The start of the first bucket; stored times are compared to the millisecond.</param>
/// <param name="BucketWidth">Each bucket's length; at least one millisecond.</param>
/// <param name="Buckets">How many buckets follow <paramref name="From"/>; 1 to 1 000.</param>
public sealed record ActivityParams(string Unit, DateTimeOffset From, TimeSpan BucketWidth, int Buckets)
{
    /// <summary>The most buckets one call counts.</summary>
    public const int MaxBuckets = 1000;

    /// <summary>The end of the last bucket (exclusive).</summary>
    public DateTimeOffset To => From + (BucketWidth * Buckets);

    /// <summary>The bucket width in whole milliseconds, as stores compare times.</summary>
    public long WidthMilliseconds => (long)BucketWidth.TotalMilliseconds;

    /// <summary>Throws when the window is not valid: no unit, a width under one millisecond, or a bucket count outside 1 to <see cref="MaxBuckets"/>.</summary>
    /// <exception cref="ArgumentException">The window is not valid.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Unit);
        ArgumentOutOfRangeException.ThrowIfLessThan(BucketWidth, TimeSpan.FromMilliseconds(1));
        ArgumentOutOfRangeException.ThrowIfLessThan(Buckets, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Buckets, MaxBuckets);
    }
}

/// <summary>One bucket of an activity count.</summary>
/// <param name="Received">Requests created in the bucket.</param>
/// <param name="Succeeded">Requests that completed in the bucket and are succeeded.</param>
/// <param name="Failed">Requests that completed in the bucket and are failed.</param>
public readonly record struct ActivityBucket(long Received, long Succeeded, long Failed);
