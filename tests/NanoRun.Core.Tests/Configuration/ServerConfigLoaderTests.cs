using NanoRun.Configuration;
using NanoRun.Core.Tests.Units;

namespace NanoRun.Core.Tests.Configuration;

public sealed class ServerConfigLoaderTests
{
    [Fact]
    public void LoadFile_EmptyFile_GivesDefaultsNextToFile()
    {
        using var temp = new TempDirectory();
        var path = temp.Write("srv/server.yaml", "");
        var folder = Path.Combine(temp.Path, "srv");

        var options = ServerConfigLoader.LoadFile(path);

        Assert.Equal(Path.Combine(folder, "run"), options.DataDirectory);
        Assert.Equal(Path.Combine(folder, "conf.d"), options.ConfigDirectory);
        Assert.Equal(Path.Combine(folder, "ui"), options.UiDirectory);
        Assert.Equal("127.0.0.1:8989", options.Bind);
        Assert.Equal(TimeSpan.FromSeconds(5), options.GracefulShutdown);
        Assert.Equal(TimeSpan.FromSeconds(30), options.WaitTime);
        Assert.False(options.DisableUi);
        Assert.Null(options.Tls);
        Assert.Null(options.Auth);
        Assert.Equal("sqlite", options.StorageProvider);
        Assert.Null(options.StorageConnectionString);
    }

    [Fact]
    public void LoadFile_EveryKey_ReadsAndResolvesPaths()
    {
        using var temp = new TempDirectory();
        temp.Write("srv/tls/cert.pem", "cert");
        temp.Write("srv/tls/key.pem", "key");
        var path = temp.Write("srv/server.yaml", """
            working_directory: data
            config_directory: /etc/nano-run/units
            bind: 0.0.0.0:80
            graceful_shutdown: 1m
            wait_time: 5000000000
            disable_ui: true
            ui_directory: ../theme
            tls:
              enable: true
              cert: tls/cert.pem
              key: tls/key.pem
            auth:
              oauth2:
                title: GitHub
                key: client
                secret: hush
                auth_url: https://github.com/login/oauth/authorize
                token_url: https://github.com/login/oauth/access_token
                profile_url: https://api.github.com/user
                login_field: login
                callback_url: https://runner.example.com/ui/auth/oauth2/callback
                scopes: [read:user]
              users: [alice, bob]
              viewers: [carol]
            storage:
              provider: postgres
              connection_string: Host=db;Database=nanorun
            """);
        var folder = Path.Combine(temp.Path, "srv");

        var options = ServerConfigLoader.LoadFile(path);

        Assert.Equal(Path.Combine(folder, "data"), options.DataDirectory);
        Assert.Equal("/etc/nano-run/units", options.ConfigDirectory);
        Assert.Equal(Path.Combine(temp.Path, "theme"), options.UiDirectory);
        Assert.Equal("0.0.0.0:80", options.Bind);
        Assert.Equal(TimeSpan.FromMinutes(1), options.GracefulShutdown);
        Assert.Equal(TimeSpan.FromSeconds(5), options.WaitTime);
        Assert.True(options.DisableUi);
        Assert.Equal(Path.Combine(folder, "tls", "cert.pem"), options.Tls?.CertFile);
        Assert.Equal(Path.Combine(folder, "tls", "key.pem"), options.Tls?.KeyFile);
        var oauth2 = options.Auth?.OAuth2;
        Assert.NotNull(oauth2);
        Assert.Equal("GitHub", oauth2.Title);
        Assert.Equal("client", oauth2.ClientId);
        Assert.Equal("hush", oauth2.ClientSecret);
        Assert.Equal(new Uri("https://github.com/login/oauth/authorize"), oauth2.AuthUrl);
        Assert.Equal(new Uri("https://github.com/login/oauth/access_token"), oauth2.TokenUrl);
        Assert.Equal(new Uri("https://api.github.com/user"), oauth2.ProfileUrl);
        Assert.Equal("login", oauth2.LoginField);
        Assert.Equal(new Uri("https://runner.example.com/ui/auth/oauth2/callback"), oauth2.CallbackUrl);
        Assert.Equal(["read:user"], oauth2.Scopes);
        Assert.Equal(["alice", "bob"], options.Auth?.AllowedUsers ?? []);
        Assert.Equal(["carol"], options.Auth?.Viewers ?? []);
        Assert.Equal("postgresql", options.StorageProvider);
        Assert.Equal("Host=db;Database=nanorun", options.StorageConnectionString);
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("sqlite")]
    public void Parse_EmbeddedProvider_IsSqlite(string provider)
    {
        var options = ServerConfigLoader.Parse($"storage: {{provider: {provider}}}", "server.yaml", "/srv");

        Assert.Equal("sqlite", options.StorageProvider);
    }

    [Theory]
    [InlineData("[::1]:8989")]
    [InlineData(":8989")]
    [InlineData("localhost:0")]
    public void Parse_ValidBind_IsKept(string bind)
    {
        var options = ServerConfigLoader.Parse($"bind: '{bind}'", "server.yaml", "/srv");

        Assert.Equal(bind, options.Bind);
    }

    [Fact]
    public void LoadFile_MissingFile_ThrowsNamingFile()
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "server.yaml");

        var act = () => ServerConfigLoader.LoadFile(path);

        var error = Assert.Throws<ServerConfigException>(act);
        Assert.Equal($"{path}: does not exist", error.Message);
    }

    [Theory]
    [InlineData("bind: 8989", "bind", "HOST:PORT")]
    [InlineData("bind: 'host:99999'", "bind", "HOST:PORT")]
    [InlineData("bind: 'myhost:8989'", "bind", "must be an IP address")]
    [InlineData("graceful_shutdown: -1s", "graceful_shutdown", "must not be negative")]
    [InlineData("wait_time: 0", "wait_time", "greater than zero")]
    [InlineData("wait_time: soon", "wait_time", "must be a duration")]
    [InlineData("disable_ui: sometimes", "disable_ui", "true or false")]
    [InlineData("working_directory: ''", "working_directory", "must not be empty")]
    [InlineData("tls: {enable: true, key: k.pem}", "tls.cert", "must be set")]
    [InlineData("tls: {enable: true, cert: missing.pem, key: k.pem}", "tls.cert", "file not found")]
    [InlineData("auth: {users: [alice]}", "auth.users", "auth.oauth2")]
    [InlineData("auth: {viewers: [carol]}", "auth.viewers", "auth.oauth2")]
    [InlineData("auth: {oauth2: {key: k, secret: s, auth_url: 'https://a', token_url: 'https://t', profile_url: 'https://p'}, users: [alice, Carol], viewers: [bob, carol]}", "auth.viewers[1]", "also listed in auth.users")]
    [InlineData("auth: {oauth2: {key: k, secret: s, auth_url: 'https://a', token_url: 'https://t', profile_url: 'https://p'}, viewers: ['']}", "auth.viewers[0]", "must not be empty")]
    [InlineData("auth: {oauth2: {secret: s, auth_url: 'https://a', token_url: 'https://t', profile_url: 'https://p'}}", "auth.oauth2.key", "must be set")]
    [InlineData("auth: {oauth2: {key: k, secret: s, auth_url: '/login', token_url: 'https://t', profile_url: 'https://p'}}", "auth.oauth2.auth_url", "absolute http or https URL")]
    [InlineData("storage: {provider: mongodb}", "storage.provider", "sqlite")]
    [InlineData("storage: {provider: postgresql}", "storage.connection_string", "must be set")]
    [InlineData("listen: ':80'", "listen", "unknown key")]
    [InlineData("storage: {path: x}", "storage.path", "unknown key")]
    public void Parse_InvalidValue_NamesFileAndKey(string yaml, string key, string reason)
    {
        var act = () => ServerConfigLoader.Parse(yaml, "server.yaml", "/srv");

        var error = Assert.Throws<ServerConfigException>(act);
        Assert.Equal(key, error.Key);
        Assert.StartsWith($"server.yaml: key '{key}': ", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Parse_SyntaxError_NamesFileAndLine()
    {
        var act = () => ServerConfigLoader.Parse("bind: ':80'\ntls:\n  enable: [true\n", "server.yaml", "/srv");

        var error = Assert.Throws<ServerConfigException>(act);
        Assert.StartsWith("server.yaml: invalid YAML: ", error.Message);
        Assert.True(error.Line >= 3, $"line {error.Line}");
    }

    [Fact]
    public void CreateTransientDefault_BaseDirectory_PutsFoldersUnderRun()
    {
        using var temp = new TempDirectory();

        var options = ServerOptions.CreateTransientDefault(temp.Path);

        Assert.Equal(Path.Combine(temp.Path, "run", "data"), options.DataDirectory);
        Assert.Equal(Path.Combine(temp.Path, "run", "conf.d"), options.ConfigDirectory);
        Assert.Equal("127.0.0.1:8989", options.Bind);
    }
}
