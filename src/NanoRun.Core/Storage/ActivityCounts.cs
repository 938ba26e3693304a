namespace NanoRun.Storage;

/// <summary>
/// Collects the rows of an activity query into buckets: each row is a kind (<c>-1</c> received, <c>3</c> succeeded,
/// <c>4</c> failed, as the stores number states), a bucket index and a count. Rows outside the window are ignored.
/// </summary>
public sealed class ActivityCounts
{
    private readonly long[] _received;
    private readonly long[] _succeeded;
    private readonly long[] _failed;

    /// <summary>Starts all <paramref name="buckets"/> buckets at zero.</summary>
    /// <param name="buckets">How many buckets the window has.</param>
    public ActivityCounts(int buckets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 0);
        _received = new long[buckets];
        _succeeded = new long[buckets];
        _failed = new long[buckets];
    }

    /// <summary>Adds <paramref name="count"/> to bucket <paramref name="bucket"/> of the series <paramref name="kind"/> names.</summary>
    /// <param name="kind"><c>-1</c> received, <c>3</c> succeeded, <c>4</c> failed; anything else is ignored.</param>
    /// <param name="bucket">The 0-based bucket index.</param>
    /// <param name="count">How many requests.</param>
    public void Add(int kind, long bucket, long count)
    {
        if (bucket < 0 || bucket >= _received.Length)
        {
            return;
        }

        var series = kind switch
        {
            -1 => _received,
            3 => _succeeded,
            4 => _failed,
            _ => null,
        };
        if (series is not null)
        {
            series[bucket] += count;
        }
    }

    /// <summary>The buckets in time order.</summary>
    public IReadOnlyList<ActivityBucket> ToList()
    {
        var buckets = new ActivityBucket[_received.Length];
        for (var i = 0; i < buckets.Length; i++)
        {
            buckets[i] = new ActivityBucket(_received[i], _succeeded[i], _failed[i]);
        }

        return buckets;
    }
}
