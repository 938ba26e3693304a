using NanoRun.Units;

namespace NanoRun.Core.Tests.Units;

public sealed class GoDurationTests
{
    private const long TicksPerMicrosecond = 10;
    private const long TicksPerMillisecond = TimeSpan.TicksPerMillisecond;
    private const long TicksPerSecond = TimeSpan.TicksPerSecond;
    private const long TicksPerMinute = TimeSpan.TicksPerMinute;
    private const long TicksPerHour = TimeSpan.TicksPerHour;

    [Theory]
    [InlineData("0", 0)]
    [InlineData("-0", 0)]
    [InlineData("0s", 0)]
    [InlineData("5s", 5 * TicksPerSecond)]
    [InlineData("+5s", 5 * TicksPerSecond)]
    [InlineData("300ms", 300 * TicksPerMillisecond)]
    [InlineData("1.5h", 90 * TicksPerMinute)]
    [InlineData("2h45m", (2 * TicksPerHour) + (45 * TicksPerMinute))]
    [InlineData("-1.5h", -90 * TicksPerMinute)]
    [InlineData("1h2m3s4ms5us600ns", TicksPerHour + (2 * TicksPerMinute) + (3 * TicksPerSecond) + (4 * TicksPerMillisecond) + (5 * TicksPerMicrosecond) + 6)]
    [InlineData("7us", 7 * TicksPerMicrosecond)]
    [InlineData("7µs", 7 * TicksPerMicrosecond)]
    [InlineData("7μs", 7 * TicksPerMicrosecond)]
    [InlineData("100ns", 1)]
    [InlineData("99ns", 0)]
    [InlineData(".5s", 500 * TicksPerMillisecond)]
    [InlineData("5.s", 5 * TicksPerSecond)]
    [InlineData("1.0000000001s", TicksPerSecond)]
    [InlineData("5000000000", 5 * TicksPerSecond)]
    [InlineData("1000", 10)]
    [InlineData("-5000000000", -5 * TicksPerSecond)]
    [InlineData("2562047h47m16.854775807s", 92233720368547758)]
    [InlineData("9223372036854775807", 92233720368547758)]
    public void TryParse_ValidText_GivesTicks(string text, long expectedTicks)
    {
        var parsed = GoDuration.TryParse(text, out var value);

        Assert.True(parsed);
        Assert.Equal(expectedTicks, value.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("+")]
    [InlineData("s")]
    [InlineData(".s")]
    [InlineData("1.5")]
    [InlineData("5s5")]
    [InlineData("5x")]
    [InlineData("5S")]
    [InlineData("5 s")]
    [InlineData(" 5s")]
    [InlineData("5s ")]
    [InlineData("1e3s")]
    [InlineData("--5s")]
    [InlineData("abc")]
    [InlineData("1d")]
    [InlineData("9223372036854775808")]
    [InlineData("2562048h")]
    [InlineData("9999999999999999999999h")]
    public void TryParse_InvalidText_ReturnsFalse(string text)
    {
        var parsed = GoDuration.TryParse(text, out var value);

        Assert.False(parsed);
        Assert.Equal(TimeSpan.Zero, value);
    }

    [Fact]
    public void Parse_InvalidText_ThrowsFormatExceptionNamingText()
    {
        Action act = () => GoDuration.Parse("5 minutes");

        var error = Assert.Throws<FormatException>(act);
        Assert.Contains("'5 minutes'", error.Message);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(5 * TicksPerSecond, "5s")]
    [InlineData(90 * TicksPerMinute, "1h30m0s")]
    [InlineData(-90 * TicksPerMinute, "-1h30m0s")]
    [InlineData(2 * TicksPerMinute, "2m0s")]
    [InlineData(300 * TicksPerMillisecond, "300ms")]
    [InlineData(1500 * TicksPerMillisecond, "1.5s")]
    [InlineData(15 * TicksPerMicrosecond, "15µs")]
    [InlineData(15, "1.5µs")]
    [InlineData(1, "100ns")]
    [InlineData(TicksPerHour + TicksPerMillisecond, "1h0m0.001s")]
    public void Format_TimeSpan_WritesGoText(long ticks, string expected)
    {
        var text = GoDuration.Format(TimeSpan.FromTicks(ticks));

        Assert.Equal(expected, text);
    }

    [Theory]
    [InlineData("1h30m0s")]
    [InlineData("1.5µs")]
    [InlineData("-2m0.5s")]
    public void Format_ParsedText_RoundTrips(string text)
    {
        var value = GoDuration.Parse(text);

        var formatted = GoDuration.Format(value);

        Assert.Equal(text, formatted);
    }
}
