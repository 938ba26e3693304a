using System.Collections.Concurrent;
using NanoRun.Units;

namespace NanoRun.Admission;

/// <summary>
/// One token bucket per unit with a <c>rate</c>, kept for the life of the host and replaced when a reload changes the rate;
/// limits are per node. Tokens come back continuously at <c>rate</c> per second up to <c>burst</c>, read from the clock.
/// </summary>
internal sealed class UnitRateLimiter(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes one token for a new request of <paramref name="unit"/>; returns <c>null</c> when taken, or how long until a token returns.</summary>
    public TimeSpan? TryAcquire(UnitDefinition unit)
    {
        if (unit.Rate is not { } rate)
        {
            return null;
        }

        var bucket = _buckets.AddOrUpdate(
            unit.Name,
            static (_, a) => new Bucket(a.Rate, a.Now),
            static (_, existing, a) => existing.Rate.PerSecond == a.Rate.PerSecond && existing.Rate.Burst == a.Rate.Burst ? existing : new Bucket(a.Rate, a.Now),
            (Rate: rate, Now: time.GetTimestamp()));
        return bucket.TryTake(time);
    }

    private sealed class Bucket(UnitRateLimit rate, long now)
    {
        private readonly Lock _lock = new();
        private double _tokens = rate.Burst;
        private long _filledAt = now;

        public UnitRateLimit Rate { get; } = rate;

        public TimeSpan? TryTake(TimeProvider time)
        {
            lock (_lock)
            {
                var now = time.GetTimestamp();
                _tokens = Math.Min(Rate.Burst, _tokens + (time.GetElapsedTime(_filledAt, now).TotalSeconds * Rate.PerSecond));
                _filledAt = now;
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    return null;
                }

                return TimeSpan.FromSeconds((1 - _tokens) / Rate.PerSecond);
            }
        }
    }
}
