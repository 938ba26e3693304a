using Microsoft.Extensions.Time.Testing;
using NanoRun.Admission;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Admission;

public sealed class UnitRateLimiterTests
{
    [Fact]
    public void TryAcquire_BurstSpent_RefusesUntilClockReturnsAToken()
    {
        var clock = new FakeTimeProvider();
        var limiter = new UnitRateLimiter(clock);
        var unit = new UnitDefinition { Name = "paced", Command = "cat", Rate = new UnitRateLimit { PerSecond = 0.5, Burst = 2 } };

        var first = limiter.TryAcquire(unit);
        var second = limiter.TryAcquire(unit);
        var refused = limiter.TryAcquire(unit);
        clock.Advance(TimeSpan.FromSeconds(1.9));
        var stillRefused = limiter.TryAcquire(unit);
        clock.Advance(TimeSpan.FromSeconds(0.1));
        var refilled = limiter.TryAcquire(unit);

        Assert.Null(first);
        Assert.Null(second);
        Assert.Equal(TimeSpan.FromSeconds(2), refused);
        Assert.NotNull(stillRefused);
        Assert.InRange(stillRefused.Value, TimeSpan.FromSeconds(0.09), TimeSpan.FromSeconds(0.11));
        Assert.Null(refilled);
    }

    [Fact]
    public void TryAcquire_UnitWithoutRate_AlwaysAdmits()
    {
        var limiter = new UnitRateLimiter(new FakeTimeProvider());
        var unit = new UnitDefinition { Name = "open", Command = "cat" };

        var results = Enumerable.Range(0, 100).Select(_ => limiter.TryAcquire(unit)).ToList();

        Assert.All(results, r => Assert.Null(r));
    }
}
