using System.Globalization;
using NanoRun.Requests;
using NanoRun.Units;

namespace NanoRun.Queue;

/// <summary>Decides what an attempt's status means for its request and when a retry is due, from the unit's <see cref="RetryPolicy"/>.</summary>
internal static class RetrySchedule
{
    /// <summary>Whether an attempt that answered <paramref name="code"/> failed in a way worth another attempt.</summary>
    public static bool IsRetryable(RetryPolicy policy, int code)
    {
        if (policy.RetryOn is not { } ranges)
        {
            return code >= 500;
        }

        foreach (var range in ranges)
        {
            if (range.Contains(code))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The state after attempt <paramref name="number"/> answered <paramref name="code"/>: a retryable status retries until
    /// <c>attempts</c> is reached and then fails; any other status of 500 or more fails at once; below 500 succeeds.
    /// </summary>
    public static RequestState NextState(UnitDefinition unit, int number, int code)
    {
        if (IsRetryable(unit.Retry, code))
        {
            return number >= unit.Attempts ? RequestState.Failed : RequestState.Retrying;
        }

        return code >= 500 ? RequestState.Failed : RequestState.Succeeded;
    }

    /// <summary>The pause after failed attempt <paramref name="number"/> (1-based); <paramref name="random"/> in [0, 1) drives the jitter.</summary>
    public static TimeSpan Delay(UnitDefinition unit, int number, IReadOnlyList<KeyValuePair<string, string>> headers, DateTimeOffset now, double random)
    {
        var policy = unit.Retry;
        if (policy.HonourRetryAfter && RetryAfter(headers, now) is { } wanted)
        {
            // The server named its own pause: it replaces the backoff and gets no jitter, but stays within max_interval.
            return policy.MaxInterval is { } cap && wanted > cap ? cap : wanted;
        }

        var delay = policy.Backoff == BackoffKind.Exponential ? Doubled(unit.Interval, number - 1) : unit.Interval;
        if (policy.MaxInterval is { } max && delay > max)
        {
            delay = max;
        }

        return policy.Jitter > 0 ? TimeSpan.FromTicks((long)(delay.Ticks * (1 - (policy.Jitter * random)))) : delay;
    }

    /// <summary>The pause an attempt's <c>Retry-After</c> asks for (delta seconds or an HTTP date), or <c>null</c> when absent or unreadable.</summary>
    public static TimeSpan? RetryAfter(IReadOnlyList<KeyValuePair<string, string>> headers, DateTimeOffset now)
    {
        foreach (var (name, value) in headers)
        {
            if (!string.Equals(name, "Retry-After", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var text = value.Trim();
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                return seconds > (long)TimeSpan.MaxValue.TotalSeconds / 2 ? TimeSpan.MaxValue / 2 : TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                return date > now ? date - now : TimeSpan.Zero;
            }

            return null;
        }

        return null;
    }

    // interval × 2^doublings without overflow: saturates at a tenth of TimeSpan.MaxValue, far beyond any max_interval.
    private static TimeSpan Doubled(TimeSpan interval, int doublings)
    {
        var limit = TimeSpan.MaxValue.Ticks / 10;
        var ticks = interval.Ticks;
        for (var i = 0; i < doublings && ticks < limit; i++)
        {
            ticks = ticks > limit / 2 ? limit : ticks * 2;
        }

        return TimeSpan.FromTicks(ticks);
    }
}
