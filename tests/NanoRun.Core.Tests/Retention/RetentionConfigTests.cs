using NanoRun.Configuration;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Retention;

public sealed class RetentionConfigTests
{
    [Fact]
    public void Parse_RetentionAndMaxQueue_AreRead()
    {
        const string Yaml = "max_queue: 500\nretention:\n  max_age: 48h\n  max_count: 20\n";

        var unit = UnitLoader.Parse(Yaml, "conf.d/a.yaml", "a");

        Assert.Equal(500, unit.MaxQueue);
        Assert.Equal(TimeSpan.FromHours(48), unit.Retention!.MaxAge);
        Assert.Equal(20, unit.Retention.MaxCount);
    }

    [Fact]
    public void Parse_NoRetention_UsesServerPolicyAndUnlimitedQueue()
    {
        var unit = UnitLoader.Parse("command: cat\n", "conf.d/a.yaml", "a");

        Assert.Null(unit.Retention);
        Assert.Equal(0, unit.MaxQueue);
    }

    [Theory]
    [InlineData("retention:\n  max_count: 0\n", "retention.max_count")]
    [InlineData("retention:\n  max_age: soon\n", "retention.max_age")]
    [InlineData("retention:\n  keep: 3\n", "retention.keep")]
    [InlineData("max_queue: -1\n", "max_queue")]
    public void Parse_BadRetention_NamesKey(string yaml, string key)
    {
        var error = Assert.Throws<UnitConfigException>(() => UnitLoader.Parse(yaml, "conf.d/a.yaml", "a"));

        Assert.Contains("conf.d/a.yaml", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseServer_RetentionAndDiskGuard_AreReadWithDefaults()
    {
        var configured = ServerConfigLoader.Parse("retention:\n  max_age: 1h\nmin_free_disk: 1000\n", "server.yaml", "/srv");
        var defaults = ServerConfigLoader.Parse("", "server.yaml", "/srv");

        Assert.Equal(TimeSpan.FromHours(1), configured.Retention.MaxAge);
        Assert.Null(configured.Retention.MaxCount);
        Assert.Equal(1000, configured.MinFreeDisk);
        Assert.Equal(TimeSpan.FromDays(7), defaults.Retention.MaxAge);
        Assert.Equal(10_000, defaults.Retention.MaxCount);
        Assert.Equal(64L * 1024 * 1024, defaults.MinFreeDisk);
    }
}
