using System.Globalization;
using System.Text;
using NanoRun.Requests;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Ui;

/// <summary>Formats values for people: durations, sizes, times and states.</summary>
internal static class Display
{
    /// <summary>A duration such as <c>250 ms</c>, <c>1.5 s</c>, <c>2 h 45 min</c> or <c>3 d 4 h</c>.</summary>
    public static string Duration(TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            return "-" + Duration(value.Negate());
        }

        if (value < TimeSpan.FromSeconds(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0.#} ms");
        }

        if (value < TimeSpan.FromMinutes(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.##} s");
        }

        var text = new StringBuilder();
        Append(text, value.Days, "d");
        Append(text, value.Hours, "h");
        Append(text, value.Minutes, "min");
        if (value.Days == 0)
        {
            Append(text, value.Seconds, "s");
        }

        return text.ToString();
    }

    /// <summary>A byte count such as <c>512 B</c>, <c>1.5 KiB</c> or <c>10 MiB</c>.</summary>
    public static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }

    /// <summary>A time in UTC, named so, as <c>2025-01-02 03:04:05 UTC</c>; every page shows times this way.</summary>
    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss' UTC'", CultureInfo.InvariantCulture);

    /// <summary>A UTC time in ISO 8601 for <c>datetime</c> attributes.</summary>
    public static string IsoTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>How long ago <paramref name="value"/> was, such as <c>12 s ago</c>.</summary>
    public static string Ago(DateTimeOffset value, DateTimeOffset now)
    {
        var age = now - value;
        if (age < TimeSpan.FromSeconds(1))
        {
            return "just now";
        }

        // Whole units are enough for an age.
        var rounded = age < TimeSpan.FromMinutes(1)
            ? TimeSpan.FromSeconds(Math.Floor(age.TotalSeconds))
            : TimeSpan.FromMinutes(Math.Floor(age.TotalMinutes));
        return Duration(rounded) + " ago";
    }

    /// <summary>The state's label, as in the API's <c>outcome</c> field.</summary>
    public static string State(RequestState state) => state.ToWire();

    /// <summary>One line per enabled authorization method, naming where credentials go but never a secret.</summary>
    public static IReadOnlyList<string> Authorization(UnitAuthorization authorization)
    {
        var lines = new List<string>(4);
        if (authorization.Jwt is { } jwt)
        {
            lines.Add($"a JWT signed with HS256 in the {jwt.Header} header");
        }

        if (authorization.QueryToken is { } query)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"one of {query.Tokens.Count} tokens in the ?{query.Name}= query parameter"));
        }

        if (authorization.HeaderToken is { } header)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"one of {header.Tokens.Count} tokens in the {header.Name} header"));
        }

        if (authorization.Basic is { } basic)
        {
            var users = basic.Users.Keys.Order(StringComparer.Ordinal);
            lines.Add("HTTP Basic login as " + string.Join(", ", users));
        }

        return lines;
    }

    private static void Append(StringBuilder text, int amount, string unit)
    {
        if (amount == 0)
        {
            return;
        }

        if (text.Length > 0)
        {
            text.Append(' ');
        }

        text.Append(amount.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(unit);
    }
}
