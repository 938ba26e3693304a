using NanoRun.Units;

namespace NanoRun.Core.Tests.Units;

public sealed class RetryKeysTests
{
    [Fact]
    public void Parse_NoRetryKeys_KeepsDefaultPolicyAndNoRate()
    {
        var unit = UnitLoader.Parse("attempts: 4\ninterval: 2s", "conf.d/a.yaml", "a");

        Assert.Same(RetryPolicy.Default, unit.Retry);
        Assert.Equal(BackoffKind.Fixed, unit.Retry.Backoff);
        Assert.Null(unit.Retry.MaxInterval);
        Assert.Equal(0, unit.Retry.Jitter);
        Assert.Null(unit.Retry.RetryOn);
        Assert.False(unit.Retry.HonourRetryAfter);
        Assert.Null(unit.Rate);
    }

    [Fact]
    public void Parse_EveryRetryKey_ReadsEveryValue()
    {
        var yaml = """
            interval: 1s
            backoff: exponential
            max_interval: 1m
            jitter: 0.25
            retry_on: [429, 5xx, 408]
            retry_after: true
            rate: 2.5
            burst: 10
            """;

        var unit = UnitLoader.Parse(yaml, "conf.d/a.yaml", "a");

        Assert.Equal(BackoffKind.Exponential, unit.Retry.Backoff);
        Assert.Equal(TimeSpan.FromMinutes(1), unit.Retry.MaxInterval);
        Assert.Equal(0.25, unit.Retry.Jitter);
        Assert.Equal([new StatusCodeRange(429, 429), new StatusCodeRange(500, 599), new StatusCodeRange(408, 408)], unit.Retry.RetryOn!);
        Assert.True(unit.Retry.HonourRetryAfter);
        Assert.Equal(2.5, unit.Rate!.PerSecond);
        Assert.Equal(10, unit.Rate.Burst);
    }

    [Theory]
    [InlineData("rate: 20", 20)]
    [InlineData("rate: 2.5", 2)]
    [InlineData("rate: 0.5", 1)]
    public void Parse_RateWithoutBurst_BurstIsWholeRateAtLeastOne(string yaml, int burst)
    {
        var unit = UnitLoader.Parse(yaml, "conf.d/a.yaml", "a");

        Assert.Equal(burst, unit.Rate!.Burst);
    }

    [Theory]
    [InlineData("backoff: linear", "backoff", "must be fixed or exponential")]
    [InlineData("max_interval: 0s", "max_interval", "greater than zero")]
    [InlineData("interval: 10s\nmax_interval: 5s", "max_interval", "must not be shorter than interval (10s)")]
    [InlineData("jitter: 1.5", "jitter", "fraction from 0 to 1")]
    [InlineData("jitter: -0.1", "jitter", "fraction from 0 to 1")]
    [InlineData("jitter: 2s", "jitter", "fraction from 0 to 1")]
    [InlineData("retry_on: []", "retry_on", "at least one")]
    [InlineData("retry_on: [429, 6xx]", "retry_on[1]", "class 1xx to 5xx")]
    [InlineData("retry_on: [700]", "retry_on[0]", "status code from 100 to 599")]
    [InlineData("retry_after: maybe", "retry_after", "true or false")]
    [InlineData("rate: 0", "rate", "requests per second")]
    [InlineData("rate: fast", "rate", "requests per second")]
    [InlineData("rate: 5\nburst: 0", "burst", "whole number from 1")]
    [InlineData("burst: 5", "burst", "needs rate")]
    public void Parse_InvalidRetryOrRateValue_NamesFileKeyAndLine(string yaml, string key, string reason)
    {
        var act = () => UnitLoader.Parse("attempts: 3\n" + yaml, "conf.d/build.yaml", "build");

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Equal(key, error.Key);
        Assert.StartsWith($"conf.d/build.yaml: key '{key}': ", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.True(error.Line >= 2, $"line {error.Line}");
    }
}
