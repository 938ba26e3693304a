using System.Globalization;
using NanoRun.Configuration;

namespace NanoRun.Units;

/// <summary>Reads a unit's retry keys (<c>backoff</c>, <c>max_interval</c>, <c>jitter</c>, <c>retry_on</c>, <c>retry_after</c>) and rate keys (<c>rate</c>, <c>burst</c>).</summary>
internal static class RetryKeysReader
{
    /// <summary>Lowest accepted <c>rate</c>: one request in about 17 minutes.</summary>
    public const double MinRate = 0.001;

    /// <summary>Highest accepted <c>rate</c> and <c>burst</c>.</summary>
    public const int MaxRate = 1_000_000;

    /// <summary>The retry policy of <paramref name="root"/>; <see cref="RetryPolicy.Default"/> when it sets none of the keys.</summary>
    public static RetryPolicy ReadRetry(YamlSection root, TimeSpan interval)
    {
        if (!root.Has("backoff") && !root.Has("max_interval") && !root.Has("jitter") && !root.Has("retry_on") && !root.Has("retry_after"))
        {
            return RetryPolicy.Default;
        }

        var backoffText = root.GetString("backoff");
        var backoff = backoffText?.Trim().ToUpperInvariant() switch
        {
            null => BackoffKind.Fixed,
            "FIXED" => BackoffKind.Fixed,
            "EXPONENTIAL" => BackoffKind.Exponential,
            _ => throw root.Error("backoff", $"must be fixed or exponential, got '{backoffText}'"),
        };

        var maxInterval = root.GetDuration("max_interval", allowZero: false);
        if (maxInterval is { } max && max < interval)
        {
            throw root.Error("max_interval", $"must not be shorter than interval ({GoDuration.Format(interval)})");
        }

        return new RetryPolicy
        {
            Backoff = backoff,
            MaxInterval = maxInterval,
            Jitter = ReadJitter(root),
            RetryOn = ReadRetryOn(root),
            HonourRetryAfter = root.GetBool("retry_after", false),
        };
    }

    /// <summary>The rate limit of <paramref name="root"/>, or <c>null</c> when <c>rate</c> is absent; <c>burst</c> defaults to the whole part of the rate, at least 1.</summary>
    public static UnitRateLimit? ReadRate(YamlSection root)
    {
        var text = root.GetString("rate");
        if (text is null)
        {
            if (root.Has("burst"))
            {
                throw root.Error("burst", "needs rate to be set");
            }

            return null;
        }

        if (!double.TryParse(text.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var rate)
            || rate < MinRate || rate > MaxRate)
        {
            throw root.Error("rate", string.Create(CultureInfo.InvariantCulture, $"must be a number of requests per second from {MinRate} to {MaxRate}, got '{text}'"));
        }

        var burst = (int)root.GetInteger("burst", Math.Max(1, (long)Math.Floor(rate)), 1, MaxRate);
        return new UnitRateLimit { PerSecond = rate, Burst = burst };
    }

    private static double ReadJitter(YamlSection root)
    {
        var text = root.GetString("jitter");
        if (text is null)
        {
            return 0;
        }

        if (!double.TryParse(text.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var jitter) || jitter > 1)
        {
            throw root.Error("jitter", $"must be a fraction from 0 to 1 (0.2 shortens each pause by up to 20%), got '{text}'");
        }

        return jitter;
    }

    private static List<StatusCodeRange>? ReadRetryOn(YamlSection root)
    {
        if (!root.Has("retry_on"))
        {
            return null;
        }

        var items = root.GetStringList("retry_on");
        if (items.Count == 0)
        {
            throw root.Error("retry_on", "must list at least one status code (such as 429) or class (such as 5xx)");
        }

        var ranges = new List<StatusCodeRange>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i].Trim();
            if (item.Length == 3 && item[0] is >= '1' and <= '5' && item.EndsWith("xx", StringComparison.OrdinalIgnoreCase))
            {
                var first = (item[0] - '0') * 100;
                ranges.Add(new StatusCodeRange(first, first + 99));
            }
            else if (int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 100 and <= 599)
            {
                ranges.Add(new StatusCodeRange(code, code));
            }
            else
            {
                throw root.ItemError("retry_on", i, $"must be a status code from 100 to 599 or a class 1xx to 5xx, got '{items[i]}'");
            }
        }

        return ranges;
    }
}
