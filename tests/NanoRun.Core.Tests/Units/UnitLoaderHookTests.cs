using NanoRun.Units;

namespace NanoRun.Core.Tests.Units;

public sealed class UnitLoaderHookTests
{
    [Fact]
    public void Parse_WithoutHookKeys_LeavesHooksOff()
    {
        var unit = UnitLoader.Parse("command: cat", "conf.d/a.yaml", "a");

        Assert.Null(unit.Authorization.Hmac);
        Assert.False(unit.Authorization.IsEnabled);
        Assert.Null(unit.Callback);
        Assert.False(unit.AllowCallbackUrl);
    }

    [Fact]
    public void Parse_HmacEveryKey_ReadsEveryValue()
    {
        const string Yaml = """
            authorization:
              hmac:
                enable: true
                header: X-Sig
                algorithm: SHA512
                secret: s
                encoding: base64
                format: timestamped
                tolerance: 30s
            """;

        var hmac = UnitLoader.Parse(Yaml, "conf.d/a.yaml", "a").Authorization.Hmac;

        Assert.NotNull(hmac);
        Assert.Equal("X-Sig", hmac.Header);
        Assert.Equal(HmacAlgorithm.Sha512, hmac.Algorithm);
        Assert.Equal("s", hmac.Secret);
        Assert.True(hmac.Base64);
        Assert.Equal(HmacFormat.Timestamped, hmac.Format);
        Assert.Equal(TimeSpan.FromSeconds(30), hmac.Tolerance);
    }

    [Fact]
    public void Parse_HmacDefaults_AreGitHubHeaderAndSha256()
    {
        var hmac = UnitLoader.Parse("authorization: {hmac: {enable: true, secret: s, prefix: 'sha256='}}", "conf.d/a.yaml", "a").Authorization.Hmac;

        Assert.NotNull(hmac);
        Assert.Equal("X-Hub-Signature-256", hmac.Header);
        Assert.Equal(HmacAlgorithm.Sha256, hmac.Algorithm);
        Assert.Equal("sha256=", hmac.Prefix);
        Assert.False(hmac.Base64);
        Assert.Equal(HmacFormat.Plain, hmac.Format);
    }

    [Fact]
    public void Parse_Callback_ReadsUrlOutcomesAndSecret()
    {
        const string Yaml = """
            allow_callback_url: true
            callback:
              url: http://127.0.0.1:9000/done
              on: [failure, cancelled]
              secret: cb
            """;

        var unit = UnitLoader.Parse(Yaml, "conf.d/a.yaml", "a");

        Assert.True(unit.AllowCallbackUrl);
        Assert.NotNull(unit.Callback);
        Assert.Equal(new Uri("http://127.0.0.1:9000/done"), unit.Callback.Url);
        Assert.Equal(CallbackOutcomes.Failure | CallbackOutcomes.Cancelled, unit.Callback.On);
        Assert.Equal("cb", unit.Callback.Secret);
    }

    [Fact]
    public void Parse_CallbackWithoutOn_SendsSuccessAndFailure()
    {
        var callback = UnitLoader.Parse("callback: {url: 'https://example.com/hook'}", "conf.d/a.yaml", "a").Callback;

        Assert.NotNull(callback);
        Assert.Equal(CallbackOutcomes.Success | CallbackOutcomes.Failure, callback.On);
        Assert.Null(callback.Secret);
    }

    [Theory]
    [InlineData("authorization: {hmac: {enable: true}}", "authorization.hmac.secret", "must be set")]
    [InlineData("authorization: {hmac: {enable: true, secret: s, algorithm: md5}}", "authorization.hmac.algorithm", "sha1, sha256, sha512")]
    [InlineData("authorization: {hmac: {enable: true, secret: s, encoding: hexa}}", "authorization.hmac.encoding", "hex or base64")]
    [InlineData("authorization: {hmac: {enable: true, secret: s, format: stripe}}", "authorization.hmac.format", "plain or timestamped")]
    [InlineData("authorization: {hmac: {enable: true, secret: s, header: 'a b'}}", "authorization.hmac.header", "not a valid header name")]
    [InlineData("callback: {url: 'ftp://example.com/'}", "callback.url", "absolute http or https URL")]
    [InlineData("callback: {url: 'http://x/', on: [done]}", "callback.on[0]", "success, failure or cancelled")]
    [InlineData("callback: {url: 'http://x/', sekret: s}", "callback.sekret", "")]
    public void Parse_InvalidHookKey_NamesFileAndKey(string yaml, string key, string reason)
    {
        var act = () => UnitLoader.Parse(yaml, "conf.d/build.yaml", "build");

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Equal(key, error.Key);
        Assert.Contains(reason, error.Message);
    }
}
