using NanoRun.Configuration;

namespace NanoRun.Core.Tests.Configuration;

public sealed class OperationsConfigTests
{
    [Fact]
    public void Parse_NoOperationsKeys_MetricsOnAtDefaultPathAndTextLogs()
    {
        var options = ServerConfigLoader.Parse("bind: ':8989'", "server.yaml", "/srv");

        Assert.True(options.Metrics.Enabled);
        Assert.Equal("/metrics", options.Metrics.Path);
        Assert.Equal(string.Empty, options.Metrics.Bind);
        Assert.Equal("text", options.LogFormat);
    }

    [Fact]
    public void Parse_EveryOperationsKey_IsRead()
    {
        var options = ServerConfigLoader.Parse("metrics: {enabled: false, path: /internal/metrics, bind: '127.0.0.1:9464'}\nlog_format: json\n", "server.yaml", "/srv");

        Assert.False(options.Metrics.Enabled);
        Assert.Equal("/internal/metrics", options.Metrics.Path);
        Assert.Equal("127.0.0.1:9464", options.Metrics.Bind);
        Assert.Equal("json", options.LogFormat);
    }

    [Theory]
    [InlineData("metrics: {path: metrics}", "metrics.path", "absolute URL path")]
    [InlineData("metrics: {path: /api/metrics}", "metrics.path", "under /api/")]
    [InlineData("metrics: {bind: 9464}", "metrics.bind", "HOST:PORT")]
    [InlineData("metrics: {bind: '127.0.0.1:0'}", "metrics.bind", "fixed port")]
    [InlineData("metrics: {enabled: maybe}", "metrics.enabled", "true or false")]
    [InlineData("metrics: {port: 9464}", "metrics.port", "unknown key")]
    [InlineData("log_format: xml", "log_format", "text or json")]
    public void Parse_InvalidOperationsValue_NamesFileAndKey(string yaml, string key, string reason)
    {
        var act = () => ServerConfigLoader.Parse(yaml, "server.yaml", "/srv");

        var error = Assert.Throws<ServerConfigException>(act);
        Assert.Equal(key, error.Key);
        Assert.Contains(reason, error.Message);
    }
}
