namespace NanoRun.Units;

/// <summary>How the pause before the next attempt grows.</summary>
public enum BackoffKind
{
    /// <summary>Every pause is <see cref="UnitDefinition.Interval"/>.</summary>
    Fixed,

    /// <summary>The pause after attempt <c>n</c> is <see cref="UnitDefinition.Interval"/> × 2^(n−1), up to <see cref="RetryPolicy.MaxInterval"/>.</summary>
    Exponential,
}

/// <summary>An inclusive range of HTTP status codes; <c>429</c> is 429–429 and <c>5xx</c> is 500–599.</summary>
/// <param name="First">Lowest code in the range.</param>
/// <param name="Last">Highest code in the range.</param>
public readonly record struct StatusCodeRange(int First, int Last)
{
    /// <summary>Whether <paramref name="code"/> lies in the range.</summary>
    public bool Contains(int code) => code >= First && code <= Last;
}

/// <summary>When a failed attempt is tried again and after how long; the defaults keep the plain fixed <c>interval</c> with retries on status 500 and above.</summary>
public sealed class RetryPolicy
{
    /// <summary>The policy of a unit that sets no retry keys.</summary>
    public static RetryPolicy Default { get; } = new();

    /// <summary>How pauses grow; default <see cref="BackoffKind.Fixed"/>.</summary>
    public BackoffKind Backoff { get; init; } = BackoffKind.Fixed;

    /// <summary>Longest pause, also the bound of an honoured <c>Retry-After</c>; default <c>null</c>, unbounded.</summary>
    public TimeSpan? MaxInterval { get; init; }

    /// <summary>Fraction 0–1: each pause is shortened by a random share of up to this much; default 0, no jitter.</summary>
    public double Jitter { get; init; }

    /// <summary>Status codes that count as a failed attempt worth retrying; default <c>null</c>, meaning every status of 500 or more.</summary>
    public IReadOnlyList<StatusCodeRange>? RetryOn { get; init; }

    /// <summary>Whether an attempt's <c>Retry-After</c> header (seconds or HTTP date) sets the pause, bounded by <see cref="MaxInterval"/>; default <c>false</c>.</summary>
    public bool HonourRetryAfter { get; init; }
}
