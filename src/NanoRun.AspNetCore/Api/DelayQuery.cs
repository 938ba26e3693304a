using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Api;

/// <summary>
/// Reads when a new request may first run from its query: <c>?delay=DURATION</c> (such as <c>90s</c> or <c>1h30m</c>) or
/// <c>?at=RFC3339</c> (such as <c>2026-12-03T18:00:00Z</c>), at most <see cref="MaxDelay"/> ahead.
/// </summary>
internal static class DelayQuery
{
    /// <summary>Query parameter with a Go duration to wait before the first attempt.</summary>
    public const string DelayParameter = "delay";

    /// <summary>Query parameter with an RFC 3339 time before which the first attempt does not start.</summary>
    public const string AtParameter = "at";

    /// <summary>The furthest ahead a request may be delayed: 366 days.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(366);

    // RFC 3339: a full date, 'T' (or 't', or a space), a full time with optional fraction, and 'Z' or a numeric offset.
    private static readonly string[] Rfc3339Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd't'HH:mm:ssK", "yyyy-MM-dd't'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>
    /// Reads <paramref name="notBefore"/> from <paramref name="query"/> (<c>null</c> when neither parameter is given);
    /// returns <c>false</c> with the reason in <paramref name="error"/> when a value is malformed, negative, too far ahead, or both are given.
    /// </summary>
    public static bool TryRead(IQueryCollection query, DateTimeOffset now, out DateTimeOffset? notBefore, [NotNullWhen(false)] out string? error)
    {
        notBefore = null;
        error = null;
        var hasDelay = query.TryGetValue(DelayParameter, out var delays);
        var hasAt = query.TryGetValue(AtParameter, out var ats);
        if (hasDelay && hasAt)
        {
            error = "give delay or at, not both";
            return false;
        }

        if (hasDelay)
        {
            // A bare number has no unit, as for ?wait=.
            if (delays.Count != 1 || !IsDuration(delays[0], out var delay) || delay < TimeSpan.Zero || delay > MaxDelay)
            {
                error = "delay must be one duration from 0s to 8784h (366 days), such as 90s or 1h30m";
                return false;
            }

            notBefore = now + delay;
            return true;
        }

        if (hasAt)
        {
            if (ats.Count != 1 || !TryParseRfc3339(ats[0], out var at) || at - now > MaxDelay)
            {
                error = "at must be one RFC 3339 time with its offset, no more than 366 days ahead, such as 2026-12-03T18:00:00Z";
                return false;
            }

            // A time already past runs at once; the record still shows the time asked for.
            notBefore = at.ToUniversalTime();
            return true;
        }

        return true;
    }

    private static bool IsDuration(string? text, out TimeSpan delay)
    {
        delay = default;
        return !string.IsNullOrEmpty(text) && !text.TrimStart('+', '-').All(char.IsAsciiDigit) && GoDuration.TryParse(text, out delay);
    }

    private static bool TryParseRfc3339(string? text, out DateTimeOffset at)
    {
        at = default;
        return text is { Length: >= 20 }
            && (text[^1] is 'Z' or 'z' || text[^6] is '+' or '-')
            && DateTimeOffset.TryParseExact(text.ToUpperInvariant().Replace(' ', 'T'), Rfc3339Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out at);
    }
}
