using NanoRun.Scheduling;

namespace NanoRun.Core.Tests.Scheduling;

public sealed class CronScheduleTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 10, 10, 2, 30, TimeSpan.Zero); // a Monday

    [Theory]
    [InlineData("*/5 * * * *", "2025-03-10T10:05:00Z", "2025-03-10T10:10:00Z", "2025-03-10T10:15:00Z")]
    [InlineData("0,30 9-17 * * MON-FRI", "2025-03-10T10:30:00Z", "2025-03-10T11:00:00Z", "2025-03-10T11:30:00Z")]
    [InlineData("15 10 1 JAN,jul *", "2025-07-01T10:15:00Z", "2026-01-01T10:15:00Z", "2026-07-01T10:15:00Z")]
    [InlineData("0 0 * * SUN", "2025-03-16T00:00:00Z", "2025-03-23T00:00:00Z", "2025-03-30T00:00:00Z")]
    [InlineData("@hourly", "2025-03-10T11:00:00Z", "2025-03-10T12:00:00Z", "2025-03-10T13:00:00Z")]
    [InlineData("@daily", "2025-03-11T00:00:00Z", "2025-03-12T00:00:00Z", "2025-03-13T00:00:00Z")]
    [InlineData("@midnight", "2025-03-11T00:00:00Z", "2025-03-12T00:00:00Z", "2025-03-13T00:00:00Z")]
    [InlineData("@weekly", "2025-03-16T00:00:00Z", "2025-03-23T00:00:00Z", "2025-03-30T00:00:00Z")]
    [InlineData("@monthly", "2025-04-01T00:00:00Z", "2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z")]
    [InlineData("@yearly", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z")]
    [InlineData("@annually", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z")]
    [InlineData("*/20 * * * * *", "2025-03-10T10:02:40Z", "2025-03-10T10:03:00Z", "2025-03-10T10:03:20Z")]
    [InlineData("@every 1s", "2025-03-10T10:02:31Z", "2025-03-10T10:02:32Z", "2025-03-10T10:02:33Z")]
    [InlineData("@every 1m30s", "2025-03-10T10:03:00Z", "2025-03-10T10:04:30Z", "2025-03-10T10:06:00Z")]
    [InlineData("@every 7h", "2025-03-10T16:00:00Z", "2025-03-10T23:00:00Z", "2025-03-11T06:00:00Z")] // multiples of 7 h since the Unix epoch
    public void NextAfter_ValidSpec_ReturnsTheNextThreeTicks(string spec, string first, string second, string third)
    {
        Assert.True(CronSchedule.TryParse(spec, null, out var schedule, out var error), error);

        var ticks = new List<DateTimeOffset>();
        var at = Start;
        for (var i = 0; i < 3; i++)
        {
            at = schedule.NextAfter(at)!.Value;
            ticks.Add(at);
        }

        Assert.Equal([DateTimeOffset.Parse(first), DateTimeOffset.Parse(second), DateTimeOffset.Parse(third)], ticks);
        Assert.All(ticks, t => Assert.Equal(TimeSpan.Zero, t.Offset));
    }

    [Fact]
    public void NextAfter_TimeZoneAcrossDaylightSaving_FollowsLocalWallClock()
    {
        Assert.True(CronSchedule.TryParse("0 9 * * *", "Europe/Berlin", out var schedule, out var error), error);

        var beforeChange = schedule.NextAfter(new DateTimeOffset(2025, 3, 29, 12, 0, 0, TimeSpan.Zero));
        var afterChange = schedule.NextAfter(beforeChange!.Value);

        Assert.Equal(new DateTimeOffset(2025, 3, 30, 7, 0, 0, TimeSpan.Zero), beforeChange);
        Assert.Equal(new DateTimeOffset(2025, 3, 31, 7, 0, 0, TimeSpan.Zero), afterChange);
        Assert.Equal(new DateTimeOffset(2025, 1, 2, 8, 0, 0, TimeSpan.Zero), schedule.NextAfter(new DateTimeOffset(2025, 1, 2, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void NextAfter_EveryOnTwoNodesStartedApart_GivesTheSameTicks()
    {
        Assert.True(CronSchedule.TryParse("@every 10s", null, out var schedule, out _));

        var nodeA = schedule.NextAfter(Start.AddMilliseconds(1234));
        var nodeB = schedule.NextAfter(Start.AddMilliseconds(5678));

        Assert.Equal(nodeA, nodeB);
        Assert.Equal(Start.AddSeconds(10), nodeA);
    }

    [Theory]
    [InlineData("", null, "must be set")]
    [InlineData("* * * *", null, "has 4 fields")]
    [InlineData("* * * * * * *", null, "has 7 fields")]
    [InlineData("61 * * * *", null, "not a valid cron expression")]
    [InlineData("* * * FOO *", null, "not a valid cron expression")]
    [InlineData("*/0 * * * *", null, "not a valid cron expression")]
    [InlineData("0 0 30 2 *", null, "never fires")]
    [InlineData("@weekdays", null, "unknown macro")]
    [InlineData("@every_minute", null, "unknown macro")]
    [InlineData("@every", null, "positive duration")]
    [InlineData("@every -5s", null, "positive duration")]
    [InlineData("@every 500ms", null, "at least 1s")]
    [InlineData("@daily", "Mars/Olympus", "unknown time zone")]
    public void TryParse_InvalidSpec_SaysWhy(string spec, string? timeZone, string reason)
    {
        var parsed = CronSchedule.TryParse(spec, timeZone, out var schedule, out var error);

        Assert.False(parsed);
        Assert.Null(schedule);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
