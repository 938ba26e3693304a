using NanoRun.Units;

namespace NanoRun.Core.Tests.Units;

public sealed class UnitLoaderTests
{
    private const string BcryptHash = "$2y$10$0pVrEjrkdWm3IYcw5pAIxeC8Ql7JJeNe1ySzP5fdKJWYUqJLaECPe";

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    [InlineData("---\n")]
    [InlineData("{}")]
    [InlineData("~")]
    public void Parse_EmptyFile_GivesDefaults(string yaml)
    {
        var unit = UnitLoader.Parse(yaml, "conf.d/empty.yaml", "empty");

        Assert.Equal("empty", unit.Name);
        Assert.Equal("echo hello world", unit.Command);
        Assert.Equal(UnitModes.Bin, unit.Mode);
        Assert.Null(unit.Shell);
        Assert.Null(unit.WorkDirectory);
        Assert.Empty(unit.Environment);
        Assert.Null(unit.User);
        Assert.Null(unit.Timeout);
        Assert.Null(unit.GracefulTimeout);
        Assert.Equal(3, unit.Attempts);
        Assert.Equal(TimeSpan.FromSeconds(5), unit.Interval);
        Assert.Equal(1, unit.Workers);
        Assert.Equal(1024 * 1024, unit.MaxRequest);
        Assert.False(unit.Private);
        Assert.False(unit.Authorization.IsEnabled);
        Assert.Empty(unit.Cron);
    }

    [Fact]
    public void LoadFile_EveryKey_ReadsEveryValue()
    {
        using var temp = new TempDirectory();
        var path = temp.Write("conf.d/build.yaml", $$"""
            command: ./build.sh --fast
            mode: cgi
            shell: /bin/bash
            workdir: work
            environment:
              STAGE: prod
              RETRIES: 5
              VERBOSE: true
              EMPTY:
            user: builder
            timeout: 2h45m
            graceful_timeout: 1.5h
            attempts: 7
            interval: 300ms
            workers: 4
            max_request: 0
            private: true
            authorization:
              jwt:
                enable: true
                header: X-Jwt
                secret: s3cret
              query_token:
                enable: true
                param: key
                tokens: [one, two]
              header_token:
                enable: true
                header: X-Token
                tokens:
                  - three
              basic:
                enable: true
                users:
                  alice: '{{BcryptHash}}'
            cron:
              - spec: "*/5 * * * *"
                name: often
                headers:
                  X-Source: cron
                content: hello
                timezone: Europe/Berlin
              - spec: "@every 1.5h"
                content_file: payload.json
            """);

        var unit = UnitLoader.LoadFile(path, "build");

        Assert.Equal("build", unit.Name);
        Assert.Equal(path, unit.SourceFile);
        Assert.Equal("./build.sh --fast", unit.Command);
        Assert.Equal(UnitModes.Cgi, unit.Mode);
        Assert.Equal("/bin/bash", unit.Shell);
        Assert.Equal(Path.Combine(temp.Path, "conf.d", "work"), unit.WorkDirectory);
        Assert.Equal(new Dictionary<string, string> { ["STAGE"] = "prod", ["RETRIES"] = "5", ["VERBOSE"] = "true", ["EMPTY"] = "" }, unit.Environment);
        Assert.Equal("builder", unit.User);
        Assert.Equal(new TimeSpan(2, 45, 0), unit.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(90), unit.GracefulTimeout);
        Assert.Equal(7, unit.Attempts);
        Assert.Equal(TimeSpan.FromMilliseconds(300), unit.Interval);
        Assert.Equal(4, unit.Workers);
        Assert.Equal(0, unit.MaxRequest);
        Assert.True(unit.Private);
        Assert.Equal("X-Jwt", unit.Authorization.Jwt?.Header);
        Assert.Equal("s3cret", unit.Authorization.Jwt?.Secret);
        Assert.Equal("key", unit.Authorization.QueryToken?.Name);
        Assert.Equal(["one", "two"], unit.Authorization.QueryToken?.Tokens ?? []);
        Assert.Equal("X-Token", unit.Authorization.HeaderToken?.Name);
        Assert.Equal(["three"], unit.Authorization.HeaderToken?.Tokens ?? []);
        Assert.Equal(BcryptHash, unit.Authorization.Basic?.Users["alice"]);
        Assert.Equal(2, unit.Cron.Count);
        Assert.Equal("*/5 * * * *", unit.Cron[0].Spec);
        Assert.Equal("often", unit.Cron[0].Name);
        Assert.Equal("cron", unit.Cron[0].Headers["X-Source"]);
        Assert.Equal("hello", unit.Cron[0].Content);
        Assert.Equal("Europe/Berlin", unit.Cron[0].TimeZone);
        Assert.Equal("@every 1.5h", unit.Cron[1].Spec);
        Assert.Null(unit.Cron[1].Name);
        Assert.Equal(Path.Combine(temp.Path, "conf.d", "payload.json"), unit.Cron[1].ContentFile);
    }

    [Fact]
    public void Parse_AuthorizationDefaults_UseStandardNames()
    {
        const string Yaml = """
            authorization:
              jwt: {enable: true, secret: x}
              query_token: {enable: true, tokens: [a]}
              header_token: {enable: true, tokens: [b]}
            """;

        var unit = UnitLoader.Parse(Yaml, "conf.d/a.yaml", "a");

        Assert.Equal("Authorization", unit.Authorization.Jwt?.Header);
        Assert.Equal("token", unit.Authorization.QueryToken?.Name);
        Assert.Equal("X-Api-Token", unit.Authorization.HeaderToken?.Name);
        Assert.Null(unit.Authorization.Basic);
    }

    [Fact]
    public void Parse_DisabledMethodsWithoutSettings_LeaveUnitOpen()
    {
        const string Yaml = """
            authorization:
              jwt: {enable: false, header: "", secret: ""}
              query_token: {enable: false}
              header_token: {}
              basic: {enable: false, users: {}}
            """;

        var unit = UnitLoader.Parse(Yaml, "conf.d/a.yaml", "a");

        Assert.False(unit.Authorization.IsEnabled);
    }

    [Fact]
    public void Parse_UnitWrittenByGoTool_LoadsBareIntegersAsNanoseconds()
    {
        const string Yaml = """
            interval: 5000000000
            attempts: 3
            workers: 1
            mode: bin
            command: echo hello world
            shell: /bin/sh
            max_request: 1048576
            timeout: 60000000000
            """;

        var unit = UnitLoader.Parse(Yaml, "conf.d/sample.yaml", "sample");

        Assert.Equal(TimeSpan.FromSeconds(5), unit.Interval);
        Assert.Equal(TimeSpan.FromMinutes(1), unit.Timeout);
    }

    [Fact]
    public void Parse_WorkersZero_UsesProcessorCount()
    {
        var unit = UnitLoader.Parse("workers: 0", "conf.d/a.yaml", "a");

        Assert.Equal(Environment.ProcessorCount, unit.Workers);
    }

    [Fact]
    public void Parse_ProxyMode_KeepsUpstreamUrl()
    {
        var unit = UnitLoader.Parse("mode: proxy\ncommand: https://example.com/hook?x=1", "conf.d/a.yaml", "a");

        Assert.Equal(UnitModes.Proxy, unit.Mode);
        Assert.Equal("https://example.com/hook?x=1", unit.Command);
    }

    [Fact]
    public void LoadDirectory_NestedFiles_JoinsNamesAndSorts()
    {
        using var temp = new TempDirectory();
        temp.Write("conf.d/zeta.yml", "attempts: 1");
        temp.Write("conf.d/team/build.yaml", "attempts: 2");
        temp.Write("conf.d/team/deep/deploy.yaml", "");
        temp.Write("conf.d/alpha.yaml", "");
        temp.Write("conf.d/readme.md", "not a unit");
        temp.Write("conf.d/.hidden.yaml", "not: valid: unit");
        temp.Write("conf.d/..data/alpha.yaml", "bad: key");

        var units = UnitLoader.LoadDirectory(Path.Combine(temp.Path, "conf.d"));

        Assert.Equal(["alpha", "team-build", "team-deep-deploy", "zeta"], units.Select(u => u.Name));
        Assert.Equal(2, units[1].Attempts);
        Assert.Equal(Path.Combine(temp.Path, "conf.d", "team", "build.yaml"), units[1].SourceFile);
    }

    [Fact]
    public void LoadDirectory_LinkedFolders_AreNotFollowed()
    {
        using var temp = new TempDirectory();
        temp.Write("conf.d/team/build.yaml", "");
        temp.Write("shared/deploy.yaml", "");
        temp.Write("shared/file.yaml", "");
        Directory.CreateSymbolicLink(Path.Combine(temp.Path, "conf.d", "team", "loop"), "..");
        Directory.CreateSymbolicLink(Path.Combine(temp.Path, "conf.d", "shared"), Path.Combine(temp.Path, "shared"));
        File.CreateSymbolicLink(Path.Combine(temp.Path, "conf.d", "linked.yaml"), Path.Combine(temp.Path, "shared", "file.yaml"));

        var units = UnitLoader.LoadDirectory(Path.Combine(temp.Path, "conf.d"));

        Assert.Equal(["linked", "team-build"], units.Select(u => u.Name));
    }

    [Fact]
    public void LoadDirectory_MissingFolder_ReturnsEmpty()
    {
        using var temp = new TempDirectory();

        var units = UnitLoader.LoadDirectory(Path.Combine(temp.Path, "absent"));

        Assert.Empty(units);
    }

    [Theory]
    [InlineData("a.yaml", "a.yml")]
    [InlineData("team/build.yaml", "team-build.yaml")]
    [InlineData("Build.yaml", "build.yaml")]
    public void LoadDirectory_TwoFilesOneName_Throws(string first, string second)
    {
        using var temp = new TempDirectory();
        temp.Write(Path.Combine("conf.d", first), "");
        temp.Write(Path.Combine("conf.d", second), "");

        var act = () => UnitLoader.LoadDirectory(Path.Combine(temp.Path, "conf.d"));

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Contains("already taken", error.Message);
    }

    [Fact]
    public void LoadDirectory_InvalidUnit_NamesFileAsGiven()
    {
        using var temp = new TempDirectory();
        temp.Write("conf.d/team/build.yaml", "attempts: abc");
        var folder = Path.Combine(temp.Path, "conf.d");

        var act = () => UnitLoader.LoadDirectory(folder);

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Equal(Path.Combine(folder, "team", "build.yaml"), error.FileName);
        Assert.Equal(
            $"{Path.Combine(folder, "team", "build.yaml")}: key 'attempts': must be a whole number, got 'abc' (line 1, column 11)",
            error.Message);
    }

    [Theory]
    [InlineData("attempts: abc", "attempts", "must be a whole number")]
    [InlineData("attempts: 0", "attempts", "must be from 1 to 1000, got 0")]
    [InlineData("workers: 2000", "workers", "must be from 0 to 1024, got 2000")]
    [InlineData("attempts: 99999999999", "attempts", "must be from 1 to 1000")]
    [InlineData("attempts: [1]", "attempts", "single value")]
    [InlineData("interval: -5s", "interval", "must not be negative")]
    [InlineData("interval: 5 minutes", "interval", "must be a duration")]
    [InlineData("timeout: 0s", "timeout", "greater than zero")]
    [InlineData("graceful_timeout: 1d", "graceful_timeout", "must be a duration")]
    [InlineData("workers: -1", "workers", "from 0 to 1024")]
    [InlineData("workers: 5000", "workers", "from 0 to 1024")]
    [InlineData("max_request: -1", "max_request", "must not be negative, got -1")]
    [InlineData("max_request: 1MB", "max_request", "must be a whole number")]
    [InlineData("private: maybe", "private", "true or false")]
    [InlineData("mode: dock/er", "mode", "must be a mode name")]
    [InlineData("mode: handler", "mode", "only for units defined in code")]
    [InlineData("shell: ''", "shell", "must not be empty")]
    [InlineData("command: ''", "command", "must not be empty")]
    [InlineData("mode: proxy", "command", "absolute http or https URL")]
    [InlineData("mode: proxy\ncommand: ftp://example.com", "command", "absolute http or https URL")]
    [InlineData("mode: proxy\ncommand: /relative", "command", "absolute http or https URL")]
    [InlineData("user: ' '", "user", "must not be empty")]
    [InlineData("workdir: ''", "workdir", "must not be empty")]
    [InlineData("environment: [A=1]", "environment", "mapping")]
    [InlineData("environment: {A: [1]}", "environment.A", "single text value")]
    [InlineData("authorization: yes", "authorization", "mapping")]
    [InlineData("authorization: {jwt: {enable: true}}", "authorization.jwt.secret", "must be set")]
    [InlineData("authorization: {jwt: {enable: true, secret: ''}}", "authorization.jwt.secret", "must be set")]
    [InlineData("authorization: {basic: {enable: true, users: {}}}", "authorization.basic.users", "at least one login")]
    [InlineData("authorization: {jwt: {enable: true, secret: x, header: 'bad header'}}", "authorization.jwt.header", "valid header name")]
    [InlineData("authorization: {jwt: {enable: maybe, secret: x}}", "authorization.jwt.enable", "true or false")]
    [InlineData("authorization: {query_token: {enable: true}}", "authorization.query_token.tokens", "at least one token")]
    [InlineData("authorization: {query_token: {enable: true, tokens: [a, '']}}", "authorization.query_token.tokens[1]", "must not be empty")]
    [InlineData("authorization: {query_token: {enable: true, tokens: [a, [b]]}}", "authorization.query_token.tokens[1]", "single text value")]
    [InlineData("authorization: {header_token: {enable: true, tokens: []}}", "authorization.header_token.tokens", "at least one token")]
    [InlineData("authorization: {basic: {enable: true}}", "authorization.basic.users", "at least one login")]
    [InlineData("authorization: {basic: {enable: true, users: {bob: plain}}}", "authorization.basic.users.bob", "bcrypt")]
    [InlineData("cron: {spec: '@daily'}", "cron", "must be a list")]
    [InlineData("cron: [{name: x}]", "cron[0].spec", "must be set")]
    [InlineData("cron: [{spec: '@daily'}, {spec: ''}]", "cron[1].spec", "must be set")]
    [InlineData("cron: [{spec: '@every 0s'}]", "cron[0].spec", "positive duration")]
    [InlineData("cron: [{spec: '@every soon'}]", "cron[0].spec", "positive duration")]
    [InlineData("cron: [{spec: '@daily', name: a}, {spec: '@daily', name: a}]", "cron[1].name", "another schedule")]
    [InlineData("cron: [{spec: '@daily', timezone: Mars/Olympus}]", "cron[0].timezone", "unknown time zone")]
    [InlineData("cron: [{spec: '@daily', headers: {'a b': c}}]", "cron[0].headers.a b", "valid header name")]
    [InlineData("cron: [daily]", "cron[0]", "mapping")]
    [InlineData("cron: [{spec: '@daily'}, {spec: '61 * * * *'}]", "cron[1].spec", "not a valid cron expression")]
    [InlineData("cron: [{spec: '* * *', name: nightly}]", "cron[0].spec", "schedule 'nightly': '* * *' has 3 fields")]
    [InlineData("cron: [{spec: '@weekdays'}]", "cron[0].spec", "unknown macro")]
    [InlineData("cron: [{spec: '@every 100ms'}]", "cron[0].spec", "at least 1s")]
    [InlineData("cron: [{spec: '0 0 31 4 *'}]", "cron[0].spec", "never fires")]
    public void Parse_InvalidValue_NamesFileAndKey(string yaml, string key, string reason)
    {
        var act = () => UnitLoader.Parse(yaml, "conf.d/build.yaml", "build");

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Equal(key, error.Key);
        Assert.StartsWith($"conf.d/build.yaml: key '{key}': ", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Theory]
    [InlineData("atempts: 5", "atempts")]
    [InlineData("authorization: {jwt: {enable: true, secrte: x}}", "authorization.jwt.secrte")]
    [InlineData("authorization: {oauth: {}}", "authorization.oauth")]
    [InlineData("cron: [{spec: '@daily'}, {spec: '@daily', body: x}]", "cron[1].body")]
    public void Parse_UnknownKey_NamesKey(string yaml, string key)
    {
        var act = () => UnitLoader.Parse(yaml, "conf.d/build.yaml", "build");

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Equal(key, error.Key);
        Assert.Contains("unknown key", error.Message);
    }

    [Fact]
    public void Parse_DuplicateKey_NamesKey()
    {
        var act = () => UnitLoader.Parse("attempts: 1\nattempts: 2", "conf.d/build.yaml", "build");

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Contains("conf.d/build.yaml", error.Message);
        Assert.Contains("attempts", error.Message);
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Parse_SyntaxError_NamesFileAndLine()
    {
        const string Yaml = "command: echo\nattempts: 3\nenvironment:\n  A: [1, 2\n";

        var act = () => UnitLoader.Parse(Yaml, "conf.d/build.yaml", "build");

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.StartsWith("conf.d/build.yaml: invalid YAML: ", error.Message);
        Assert.True(error.Line >= 4, $"line {error.Line}");
        Assert.Contains($"(line {error.Line}, column {error.Column})", error.Message);
    }

    [Theory]
    [InlineData("- a\n- b")]
    [InlineData("just text")]
    public void Parse_RootNotMapping_Throws(string yaml)
    {
        var act = () => UnitLoader.Parse(yaml, "conf.d/build.yaml", "build");

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Contains("must be a mapping", error.Message);
    }

    [Fact]
    public void Parse_SeveralDocuments_Throws()
    {
        var act = () => UnitLoader.Parse("attempts: 1\n---\nattempts: 2\n", "conf.d/build.yaml", "build");

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Contains("more than one YAML document", error.Message);
    }

    [Theory]
    [InlineData("with space")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Parse_UnsafeName_Throws(string name)
    {
        var act = () => UnitLoader.Parse("", "conf.d/x.yaml", name);

        var error = Assert.Throws<UnitConfigException>(act);
        Assert.Contains("unit name", error.Message);
    }
}
