using System.Text;
using NanoRun.Runners;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Runners;

public sealed class CgiRunnerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Run_ScriptAnswersStatusAndHeaders_AttemptCarriesThemAndTheBody()
    {
        using var world = new BinRunnerWorld();
        const string Script = "body=$(cat); printf 'Status: 201 Created\\r\\nContent-Type: text/plain\\r\\nX-Custom: yes\\r\\n\\r\\n'; printf '%s|%s' \"$QUERY_STRING\" \"$body\"";
        var context = await world.ContextAsync(new UnitDefinition { Name = "test", Command = Script, Mode = UnitModes.Cgi }, "payload"u8.ToArray());

        var result = await world.Cgi.RunAsync(BinRunnerWorld.With(context, uri: "/api/test/?a=1&b=2"), CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(201, result.Code);
        Assert.Equal("text/plain", BinRunnerWorld.Header(result, "Content-Type"));
        Assert.Equal("yes", BinRunnerWorld.Header(result, "X-Custom"));
        Assert.Equal("0", BinRunnerWorld.ReturnCode(result));
        Assert.Null(BinRunnerWorld.Header(result, "Status"));
        Assert.Equal("a=1&b=2|payload", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_MetaVariables_FollowCgi11()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition
        {
            Name = "test",
            Mode = UnitModes.Cgi,
            Command = "printf 'Content-Type: text/plain\\n\\n'; env",
            Environment = new Dictionary<string, string> { ["UNIT_VAR"] = "from unit" },
        };
        var context = await world.ContextAsync(
            unit,
            "body"u8.ToArray(),
            new("Host", "example.test:8080"),
            new("Content-Type", "application/json"),
            new("X-Name", "first"),
            new("X-Name", "second"),
            new("Proxy", "http://evil.test"),
            new("X-Attempt", "99"));

        var result = await world.Cgi.RunAsync(BinRunnerWorld.With(context, "PUT", "/api/test/?q=%20x", "10.1.2.3"), CancellationToken.None).WaitAsync(Deadline);
        var env = ParseEnv(await world.ReadTextAsync(result.Body));

        Assert.Equal(200, result.Code);
        Assert.Equal("CGI/1.1", env["GATEWAY_INTERFACE"]);
        Assert.Equal("HTTP/1.1", env["SERVER_PROTOCOL"]);
        Assert.StartsWith("nano-run/", env["SERVER_SOFTWARE"], StringComparison.Ordinal);
        Assert.Equal("example.test", env["SERVER_NAME"]);
        Assert.Equal("8080", env["SERVER_PORT"]);
        Assert.Equal("PUT", env["REQUEST_METHOD"]);
        Assert.Equal("/api/test/?q=%20x", env["REQUEST_URI"]);
        Assert.Equal("/api/test", env["SCRIPT_NAME"]);
        Assert.Equal("/", env["PATH_INFO"]);
        Assert.Equal("q=%20x", env["QUERY_STRING"]);
        Assert.Equal("application/json", env["CONTENT_TYPE"]);
        Assert.Equal("4", env["CONTENT_LENGTH"]);
        Assert.Equal("10.1.2.3", env["REMOTE_ADDR"]);
        Assert.Equal("first, second", env["HTTP_X_NAME"]);
        Assert.Equal("example.test:8080", env["HTTP_HOST"]);
        Assert.Equal(world.RequestId, env["HTTP_X_CORRELATION_ID"]);
        Assert.Equal(world.AttemptId, env["HTTP_X_ATTEMPT_ID"]);
        Assert.Equal("2", env["HTTP_X_ATTEMPT"]);
        Assert.Equal("from unit", env["UNIT_VAR"]);
        Assert.False(env.ContainsKey("HTTP_PROXY"));
        Assert.False(env.ContainsKey("HTTP_CONTENT_TYPE"));
    }

    [Fact]
    public async Task Run_NoStatusHeader_Returns200()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunCgiAsync("printf 'Content-Type: text/plain\\n\\nhello'");

        Assert.Equal(200, result.Code);
        Assert.Equal("hello", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_LocationWithoutStatus_Returns302()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunCgiAsync("printf 'Location: https://example.test/done\\n\\n'");

        Assert.Equal(302, result.Code);
        Assert.Equal("https://example.test/done", BinRunnerWorld.Header(result, "Location"));
    }

    [Fact]
    public async Task Run_StatusAtOrAbove500_IsAFailedAttemptWithTheScriptsBody()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunCgiAsync("printf 'Status: 503 Busy\\n\\ntry later'");

        Assert.Equal(503, result.Code);
        Assert.Equal("try later", await world.ReadTextAsync(result.Body));
    }

    [Theory]
    [InlineData("echo hello")]
    [InlineData("true")]
    [InlineData("printf '\\nbody without headers'")]
    [InlineData("printf '\\377\\376\\001garbage\\n\\n\\002'")]
    [InlineData("printf 'Status: abc\\n\\n'")]
    [InlineData("printf 'Status: 99\\n\\n'")]
    [InlineData("printf 'Status: 200\\nStatus: 201\\n\\n'")]
    [InlineData("printf 'no colon here\\n\\n'")]
    [InlineData("printf 'X-Bad: \\001\\n\\n'")]
    [InlineData("head -c 1048576 /dev/zero | tr '\\0' a; printf '\\n\\n'")]
    [InlineData("yes 'X-Big: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | head -c 1048576; printf '\\n\\nbody'")]
    public async Task Run_MalformedOutput_Returns502WithReasonLogged(string command)
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunCgiAsync(command);

        Assert.Equal(502, result.Code);
        Assert.StartsWith("malformed CGI response: ", BinRunnerWorld.Header(result, "X-Nano-Run-Error"), StringComparison.Ordinal);
        Assert.Contains(world.CgiLogger.Entries, e => e.Id.Id == 3200);
    }

    [Fact]
    public async Task Run_ValidResponseThenNonZeroExit_Returns502()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunCgiAsync("printf 'Status: 200\\n\\npartial'; exit 4");

        Assert.Equal(502, result.Code);
        Assert.Equal("4", BinRunnerWorld.ReturnCode(result));
    }

    [Fact]
    public async Task Run_Timeout_KillsGroupWith502()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Mode = UnitModes.Cgi, Command = "printf 'Content-Type: text/plain\\n\\n'; sleep 60", Timeout = TimeSpan.FromMilliseconds(300) };
        var context = await world.ContextAsync(unit);

        var result = await world.Cgi.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(502, result.Code);
        Assert.Equal("137", BinRunnerWorld.ReturnCode(result));
    }

    [Fact]
    public async Task Run_LargeBody_StreamedToBlobWithExactLength()
    {
        using var world = new BinRunnerWorld();
        const long size = 104_857_600;

        var result = await world.RunCgiAsync($"printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'; head -c {size} /dev/zero");

        Assert.Equal(200, result.Code);
        Assert.Equal(size, result.Body.Length);
        Assert.Equal(size, new FileInfo(world.Blobs.PathOf(result.Body.Key!)).Length);
    }

    [Fact]
    public async Task Run_UserSet_RunsAsThatUserOrRefusesWhenNotRoot()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Mode = UnitModes.Cgi, Command = "printf 'Content-Type: text/plain\\n\\n'; id -u", User = "nobody" };
        var context = await world.ContextAsync(unit);

        var result = await world.Cgi.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        if (Environment.UserName == "root")
        {
            Assert.Equal(200, result.Code);
            Assert.Equal("65534\n", await world.ReadTextAsync(result.Body));
        }
        else
        {
            Assert.Equal(502, result.Code);
        }
    }

    [Theory]
    [InlineData("/api/test/", "test", "/api/test", "/")]
    [InlineData("/api/test", "test", "/api/test", "")]
    [InlineData("/api/team-build/x%20y", "team-build", "/api/team-build", "/x y")]
    [InlineData("/elsewhere", "test", "", "/elsewhere")]
    public void SplitPath_RequestPaths_ScriptNameIsUpToTheUnit(string path, string unit, string scriptName, string pathInfo)
    {
        var split = CgiRunner.SplitPath(path, unit);

        Assert.Equal((scriptName, pathInfo), split);
    }

    [Theory]
    [InlineData(null, "localhost", "80")]
    [InlineData("example.test", "example.test", "80")]
    [InlineData("example.test:8443", "example.test", "8443")]
    [InlineData("[::1]:8989", "[::1]", "8989")]
    [InlineData("[::1]", "[::1]", "80")]
    public void SplitHost_HostHeaders_NameAndPort(string? host, string name, string port)
    {
        var split = CgiRunner.SplitHost(host);

        Assert.Equal((name, port), split);
    }

    private static Dictionary<string, string> ParseEnv(string text)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                env[line[..equals]] = line[(equals + 1)..];
            }
        }

        return env;
    }
}
