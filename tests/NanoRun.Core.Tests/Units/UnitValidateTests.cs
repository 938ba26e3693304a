using NanoRun.Units;

namespace NanoRun.Core.Tests.Units;

public sealed class UnitValidateTests
{
    public static TheoryData<string, UnitDefinition> InvalidUnits => new()
    {
        { "name", new UnitDefinition { Name = "a/b" } },
        { "mode", new UnitDefinition { Name = "job", Mode = "no space" } },
        { "mode", new UnitDefinition { Name = "job", Mode = UnitModes.Handler } },
        { "command", new UnitDefinition { Name = "job", Command = " " } },
        { "command", new UnitDefinition { Name = "job", Mode = UnitModes.Proxy, Command = "ftp://example.com" } },
        { "environment.A=B", new UnitDefinition { Name = "job", Environment = new Dictionary<string, string> { ["A=B"] = "x" } } },
        { "environment_headers[0]", new UnitDefinition { Name = "job", EnvironmentHeaders = ["LD-PRELOAD"] } },
        { "environment_headers[0]", new UnitDefinition { Name = "job", EnvironmentHeaders = ["Nano-Run-Token"] } },
        { "environment_headers", new UnitDefinition { Name = "job", Mode = UnitModes.Cgi, EnvironmentHeaders = ["X-Kind"] } },
        { "timeout", new UnitDefinition { Name = "job", Timeout = TimeSpan.Zero } },
        { "graceful_timeout", new UnitDefinition { Name = "job", GracefulTimeout = TimeSpan.FromSeconds(-1) } },
        { "attempts", new UnitDefinition { Name = "job", Attempts = 0 } },
        { "interval", new UnitDefinition { Name = "job", Interval = TimeSpan.FromSeconds(-1) } },
        { "max_interval", new UnitDefinition { Name = "job", Retry = new RetryPolicy { MaxInterval = TimeSpan.FromSeconds(1) } } },
        { "jitter", new UnitDefinition { Name = "job", Retry = new RetryPolicy { Jitter = 1.5 } } },
        { "retry_on[0]", new UnitDefinition { Name = "job", Retry = new RetryPolicy { RetryOn = [new StatusCodeRange(600, 700)] } } },
        { "workers", new UnitDefinition { Name = "job", Workers = -1 } },
        { "workers", new UnitDefinition { Name = "job", Workers = 5000 } },
        { "max_request", new UnitDefinition { Name = "job", MaxRequest = -1 } },
        { "max_queue", new UnitDefinition { Name = "job", MaxQueue = -1 } },
        { "rate", new UnitDefinition { Name = "job", Rate = new UnitRateLimit { PerSecond = 0, Burst = 1 } } },
        { "burst", new UnitDefinition { Name = "job", Rate = new UnitRateLimit { PerSecond = 1, Burst = 0 } } },
        { "retention.max_count", new UnitDefinition { Name = "job", Retention = new RetentionPolicy { MaxCount = 0 } } },
        { "authorization.jwt.secret", new UnitDefinition { Name = "job", Authorization = new UnitAuthorization { Jwt = new JwtAuthorization { Secret = "" } } } },
        { "authorization.header_token.tokens[0]", new UnitDefinition { Name = "job", Authorization = new UnitAuthorization { HeaderToken = new TokenAuthorization { Name = "X-Token", Tokens = [""] } } } },
        { "authorization.basic.users.bob", new UnitDefinition { Name = "job", Authorization = new UnitAuthorization { Basic = new BasicAuthorization { Users = new Dictionary<string, string> { ["bob"] = "plain" } } } } },
        { "cron[0].spec", new UnitDefinition { Name = "job", Cron = [new CronEntry { Spec = "every day" }] } },
        { "cron[0].timezone", new UnitDefinition { Name = "job", Cron = [new CronEntry { Spec = "@daily", TimeZone = "Mars/Base" }] } },
        { "callback.url", new UnitDefinition { Name = "job", Callback = new CallbackSettings { Url = new Uri("file:///tmp/x") } } },
    };

    [Theory]
    [MemberData(nameof(InvalidUnits))]
    public void Validate_InvalidSetting_ThrowsNamingUnitAndKey(string key, UnitDefinition unit)
    {
        var error = Assert.ThrowsAny<InvalidOperationException>(unit.Validate);

        Assert.Contains($"key '{key}'", error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"unit '{unit.Name}': ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DefaultsAndEveryBuiltInMode_Pass()
    {
        UnitDefinition[] units =
        [
            new() { Name = "plain" },
            new() { Name = "script", Mode = UnitModes.Cgi, Workers = 0 },
            new() { Name = "forward", Mode = "PROXY", Command = "http://127.0.0.1:9/" },
            new() { Name = "custom", Mode = "my-mode" },
        ];

        foreach (var unit in units)
        {
            unit.Validate();
        }

        Assert.Equal(UnitModes.Proxy, units[2].Mode);
    }

    [Fact]
    public void Parse_ProxyUnitWithoutUrl_ModelRuleNamesFileKeyAndLine()
    {
        var error = Assert.Throws<UnitConfigException>(() => UnitLoader.Parse("command: echo\nmode: proxy\n", "conf.d/job.yaml", "job"));

        Assert.Equal("conf.d/job.yaml", error.FileName);
        Assert.Equal("command", error.Key);
        Assert.Equal(1, error.Line);
    }
}
