using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Api;

/// <summary>One token bucket per unit with a <c>rate</c>, created on first use and kept for the life of the host; limits are per node.</summary>
internal sealed class UnitRateLimits : IDisposable
{
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes one token for a new request of <paramref name="unit"/>; returns <c>null</c> when accepted, or how long to wait when refused.</summary>
    public TimeSpan? TryAcquire(UnitDefinition unit)
    {
        if (unit.Rate is not { } rate)
        {
            return null;
        }

        var bucket = _buckets.GetOrAdd(unit.Name, static (_, r) => Create(r), rate);
        using var lease = bucket.AttemptAcquire(1);
        if (lease.IsAcquired)
        {
            return null;
        }

        return lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values)
        {
            bucket.Dispose();
        }
    }

    // Whole tokens per refill keep the average exact: 2.5/s adds 2 tokens every 0.8 s, 0.5/s adds 1 every 2 s.
    private static TokenBucketRateLimiter Create(UnitRateLimit rate)
    {
        var tokens = Math.Max(1, (int)Math.Floor(rate.PerSecond));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = rate.Burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromSeconds(tokens / rate.PerSecond),
            AutoReplenishment = true,
            QueueLimit = 0,
        });
    }
}
