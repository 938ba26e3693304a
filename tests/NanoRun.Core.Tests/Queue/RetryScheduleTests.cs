using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Queue;

public sealed class RetryScheduleTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 5)]
    [InlineData(9, 5)]
    public void Delay_DefaultPolicy_IsTheInterval(int number, int seconds)
    {
        var unit = new UnitDefinition { Name = "u", Interval = TimeSpan.FromSeconds(5) };

        var delay = RetrySchedule.Delay(unit, number, [new("Retry-After", "60")], Now, 0.9);

        Assert.Equal(TimeSpan.FromSeconds(seconds), delay);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 10)]
    [InlineData(900, 10)]
    public void Delay_Exponential_DoublesUpToMaxInterval(int number, int seconds)
    {
        var unit = Unit(new RetryPolicy { Backoff = BackoffKind.Exponential, MaxInterval = TimeSpan.FromSeconds(10) });

        var delay = RetrySchedule.Delay(unit, number, [], Now, 0);

        Assert.Equal(TimeSpan.FromSeconds(seconds), delay);
    }

    [Fact]
    public void Delay_ExponentialWithoutMax_SaturatesWithoutOverflow()
    {
        var unit = Unit(new RetryPolicy { Backoff = BackoffKind.Exponential });

        var delay = RetrySchedule.Delay(unit, 1000, [], Now, 0);

        Assert.True(delay > TimeSpan.FromDays(3650));
    }

    [Theory]
    [InlineData(0.0, 8000)]
    [InlineData(0.5, 7000)]
    [InlineData(0.999999, 6000)]
    public void Delay_Jitter_ShortensByUpToTheFraction(double random, int milliseconds)
    {
        var unit = Unit(new RetryPolicy { Backoff = BackoffKind.Exponential, Jitter = 0.25 });

        var delay = RetrySchedule.Delay(unit, 4, [], Now, random);

        Assert.Equal(milliseconds, delay.TotalMilliseconds, 1);
    }

    [Theory]
    [InlineData("3", 3)]
    [InlineData(" 0 ", 0)]
    [InlineData("Sun, 01 Jun 2025 12:00:07 GMT", 7)]
    [InlineData("Sun, 01 Jun 2025 11:00:00 GMT", 0)]
    [InlineData("3600", 30)]
    public void Delay_RetryAfterHonoured_SecondsOrDateBoundedByMax(string value, int seconds)
    {
        var unit = Unit(new RetryPolicy { HonourRetryAfter = true, MaxInterval = TimeSpan.FromSeconds(30), Jitter = 0.5 });

        var delay = RetrySchedule.Delay(unit, 1, [new("Content-Type", "text/plain"), new("retry-after", value)], Now, 0.9);

        Assert.Equal(TimeSpan.FromSeconds(seconds), delay);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("1.5")]
    public void Delay_RetryAfterUnreadable_FallsBackToBackoff(string value)
    {
        var unit = Unit(new RetryPolicy { HonourRetryAfter = true });

        var delay = RetrySchedule.Delay(unit, 1, [new("Retry-After", value)], Now, 0);

        Assert.Equal(TimeSpan.FromSeconds(1), delay);
    }

    [Theory]
    [InlineData(200, 1, RequestState.Succeeded)]
    [InlineData(404, 1, RequestState.Succeeded)]
    [InlineData(429, 1, RequestState.Succeeded)]
    [InlineData(500, 1, RequestState.Retrying)]
    [InlineData(502, 3, RequestState.Failed)]
    [InlineData(700, 1, RequestState.Retrying)]
    public void NextState_DefaultPolicy_RetriesFiveHundredAndAbove(int code, int number, RequestState expected)
    {
        var unit = new UnitDefinition { Name = "u", Attempts = 3 };

        var state = RetrySchedule.NextState(unit, number, code);

        Assert.Equal(expected, state);
    }

    [Theory]
    [InlineData(429, 1, RequestState.Retrying)]
    [InlineData(429, 3, RequestState.Failed)]
    [InlineData(503, 2, RequestState.Retrying)]
    [InlineData(501, 1, RequestState.Failed)]
    [InlineData(404, 1, RequestState.Succeeded)]
    public void NextState_RetryOnList_RetriesOnlyListedAndFailsOtherServerErrors(int code, int number, RequestState expected)
    {
        var unit = new UnitDefinition
        {
            Name = "u",
            Attempts = 3,
            Retry = new RetryPolicy { RetryOn = [new StatusCodeRange(429, 429), new StatusCodeRange(502, 504)] },
        };

        var state = RetrySchedule.NextState(unit, number, code);

        Assert.Equal(expected, state);
    }

    private static UnitDefinition Unit(RetryPolicy policy) =>
        new() { Name = "u", Interval = TimeSpan.FromSeconds(1), Attempts = 10, Retry = policy };
}
