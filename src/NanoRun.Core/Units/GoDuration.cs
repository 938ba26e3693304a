using System.Globalization;
using System.Text;

namespace NanoRun.Units;

/// <summary>
/// Reads and writes durations in Go's <c>time.ParseDuration</c> syntax (<c>300ms</c>, <c>1.5h</c>, <c>2h45m</c>),
/// plus a bare integer as nanoseconds, which is how the Go tool writes a <c>time.Duration</c> to YAML.
/// </summary>
/// <remarks>
/// The value is computed in whole nanoseconds with Go's range (±2^63 ns, about 292 years) and then
/// truncated toward zero to <see cref="TimeSpan"/> ticks of 100 ns.
/// </remarks>
public static class GoDuration
{
    private const ulong NanosPerTick = 100;
    private const ulong MaxMagnitude = 1UL << 63;

    /// <summary>Parses <paramref name="text"/>; returns <c>false</c> for empty, malformed, unknown-unit or out-of-range input.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var s = text.AsSpan();
        var negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s.IsEmpty)
        {
            return false;
        }

        ulong total;
        if (IsAllDigits(s))
        {
            // A bare integer is nanoseconds; "0" is the one bare number Go itself accepts.
            if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out total) || total > MaxMagnitude)
            {
                return false;
            }
        }
        else if (!TryParseComponents(s, out total))
        {
            return false;
        }

        if (!negative && total > MaxMagnitude - 1)
        {
            return false;
        }

        var ticks = (long)(total / NanosPerTick);
        value = TimeSpan.FromTicks(negative ? -ticks : ticks);
        return true;
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="FormatException"/> naming the text.</summary>
    public static TimeSpan Parse(string text)
    {
        if (TryParse(text, out var value))
        {
            return value;
        }

        throw new FormatException($"'{text}' is not a duration such as 300ms, 1.5h or 2h45m");
    }

    /// <summary>Writes <paramref name="value"/> the way Go's <c>Duration.String</c> does: <c>1h30m0s</c>, <c>5s</c>, <c>300ms</c>, <c>0s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        var negative = value.Ticks < 0;
        var nanos = (UInt128)(negative ? -(Int128)value.Ticks : value.Ticks) * NanosPerTick;
        var builder = new StringBuilder(24);
        if (negative)
        {
            builder.Append('-');
        }

        if (nanos < 1_000_000_000)
        {
            if (nanos == 0)
            {
                return "0s";
            }

            var (precision, unit) = nanos < 1_000 ? (0, "ns") : nanos < 1_000_000 ? (3, "µs") : (6, "ms");
            AppendWithFraction(builder, nanos, precision);
            return builder.Append(unit).ToString();
        }

        var seconds = nanos / 1_000_000_000;
        var fraction = nanos % 1_000_000_000;
        var hours = seconds / 3600;
        var minutes = seconds / 60 % 60;
        if (hours > 0)
        {
            builder.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (hours > 0 || minutes > 0)
        {
            builder.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        AppendWithFraction(builder, (seconds % 60 * 1_000_000_000) + fraction, 9);
        return builder.Append('s').ToString();
    }

    private static bool TryParseComponents(ReadOnlySpan<char> s, out ulong total)
    {
        total = 0;
        while (!s.IsEmpty)
        {
            if (s[0] != '.' && !char.IsAsciiDigit(s[0]))
            {
                return false;
            }

            var digits = LeadingDigits(s);
            var hasWhole = digits > 0;
            if (!TryParseWhole(s[..digits], out var whole))
            {
                return false;
            }

            s = s[digits..];
            ReadOnlySpan<char> fraction = default;
            if (!s.IsEmpty && s[0] == '.')
            {
                s = s[1..];
                digits = LeadingDigits(s);
                fraction = s[..digits];
                s = s[digits..];
            }

            if (!hasWhole && fraction.IsEmpty)
            {
                return false;
            }

            var unitLength = 0;
            while (unitLength < s.Length && s[unitLength] != '.' && !char.IsAsciiDigit(s[unitLength]))
            {
                unitLength++;
            }

            if (unitLength == 0 || !TryUnit(s[..unitLength], out var unit))
            {
                return false;
            }

            s = s[unitLength..];
            if (whole > MaxMagnitude / unit)
            {
                return false;
            }

            var component = whole * unit;
            component += FractionNanos(fraction, unit);
            if (component > MaxMagnitude)
            {
                return false;
            }

            total += component;
            if (total > MaxMagnitude)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseWhole(ReadOnlySpan<char> digits, out ulong whole)
    {
        whole = 0;
        foreach (var c in digits)
        {
            if (whole > MaxMagnitude / 10)
            {
                return false;
            }

            whole = (whole * 10) + (ulong)(c - '0');
            if (whole > MaxMagnitude)
            {
                return false;
            }
        }

        return true;
    }

    private static ulong FractionNanos(ReadOnlySpan<char> digits, ulong unit)
    {
        // Exact decimal arithmetic: the fraction's nanoseconds are truncated, never rounded up.
        ulong numerator = 0;
        ulong scale = 1;
        foreach (var c in digits)
        {
            if (scale >= 1_000_000_000_000_000_000UL / 10)
            {
                break;
            }

            numerator = (numerator * 10) + (ulong)(c - '0');
            scale *= 10;
        }

        return (ulong)((UInt128)numerator * unit / scale);
    }

    private static bool TryUnit(ReadOnlySpan<char> unit, out ulong nanos)
    {
        nanos = unit switch
        {
            "ns" => 1,
            "us" or "µs" or "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => 0,
        };
        return nanos != 0;
    }

    private static int LeadingDigits(ReadOnlySpan<char> s)
    {
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }

        return i;
    }

    private static bool IsAllDigits(ReadOnlySpan<char> s) => LeadingDigits(s) == s.Length;

    private static void AppendWithFraction(StringBuilder builder, UInt128 value, int precision)
    {
        UInt128 divisor = 1;
        for (var i = 0; i < precision; i++)
        {
            divisor *= 10;
        }

        builder.Append((value / divisor).ToString(CultureInfo.InvariantCulture));
        var fraction = value % divisor;
        if (fraction == 0)
        {
            return;
        }

        var digits = fraction.ToString(CultureInfo.InvariantCulture).PadLeft(precision, '0').TrimEnd('0');
        builder.Append('.').Append(digits);
    }
}
