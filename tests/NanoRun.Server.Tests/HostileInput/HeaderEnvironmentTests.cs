using System.Net;
using NanoRun.Units;

namespace NanoRun.Server.Tests.HostileInput;

/// <summary>
/// Request headers that try to steer the interpreters a unit's command starts: real server over HTTP, real child
/// processes, real interpreters. Each attack is first shown to work when the same variables come from the unit's
/// own <c>environment</c>, so a passing test means the header was kept out, not that the interpreter ignored it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HeaderEnvironmentTests
{
    [Fact]
    public async Task Bin_PythonWarningsAndBrowserHeaders_DoNotRunCode()
    {
        await using var world = TestWorld.Create();
        var browser = MarkerScript(world, "python-ran");
        var variables = new Dictionary<string, string>
        {
            ["PYTHONWARNINGS"] = "all:0:antigravity.x:0:0",
            ["BROWSER"] = browser,
        };

        await AssertSteeringBlockedAsync(world, "python3 -c pass", variables, "python-ran");
    }

    [Fact]
    public async Task Bin_PerlDebuggerHeaders_DoNotRunCode()
    {
        RequireOnPath("perl");

        await using var world = TestWorld.Create();
        var marker = Path.Combine(world.Root, "perl-ran");
        var variables = new Dictionary<string, string>
        {
            ["PERL5OPT"] = "-d",
            ["PERL5DB"] = $"BEGIN {{ system('touch {marker}') }}",
        };

        await AssertSteeringBlockedAsync(world, "perl -e 1", variables, "perl-ran");
    }

    [Fact]
    public async Task Bin_NodeOptionsHeader_DoesNotRunCode()
    {
        RequireOnPath("node");

        await using var world = TestWorld.Create();
        var marker = Path.Combine(world.Root, "node-ran");
        var script = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"import {{ writeFileSync }} from 'fs'; writeFileSync('{marker}', '');"));
        var variables = new Dictionary<string, string>
        {
            ["NODE_OPTIONS"] = "--import=data:text/javascript;base64," + script,
        };

        await AssertSteeringBlockedAsync(world, "node -e 0", variables, "node-ran");
    }

    [Fact]
    public async Task Bin_AllowedHeadersArrive_OthersDoNot()
    {
        const string Command = """
            printf '%s|' "${X_FOO-unset}" "${CONTENT_TYPE-unset}" "${ACCEPT-unset}" "${USER_AGENT-unset}" "${IF_MATCH-unset}" "${FOO_BAR-unset}" "${HTTP_PROXY-unset}" "${HTTPS_PROXY-unset}" "${ALL_PROXY-unset}" "${PYTHONPATH-unset}" "${GIT_SSH_COMMAND-unset}" "${GCONV_PATH-unset}" "${GLIBC_TUNABLES-unset}"
            """;
        await using var world = await TestWorld.Create()
            .WithUnit("env", $"command: '{Command.Replace("'", "''", StringComparison.Ordinal)}'\nattempts: 1\nenvironment_headers: [If-Match]\n")
            .StartAsync();

        var output = await RunAsync(world, "env", "text/x-test",
            ("X-Foo", "foo value"),
            ("Accept", "application/json"),
            ("User-Agent", "tester/1"),
            ("If-Match", "\"v1\""),
            ("Foo-Bar", "not listed"),
            ("Http-Proxy", "http://127.0.0.1:9/"),
            ("Https-Proxy", "http://127.0.0.1:9/"),
            ("All-Proxy", "http://127.0.0.1:9/"),
            ("Pythonpath", "/tmp"),
            ("Git-Ssh-Command", "touch /tmp/x"),
            ("Gconv-Path", "/tmp"),
            ("Glibc-Tunables", "glibc.malloc.check=3"));

        Assert.Equal("foo value|text/x-test|application/json|tester/1|\"v1\"|unset|unset|unset|unset|unset|unset|unset|unset|", output);
    }

    [Fact]
    public async Task Cgi_StandardMetaVariablesPass_ProxyNever()
    {
        const string Command = """
            printf 'Content-Type: text/plain\n\n'; printf '%s|' "${HTTP_ACCEPT-unset}" "${HTTP_USER_AGENT-unset}" "${HTTP_X_FOO-unset}" "${HTTP_FOO_BAR-unset}" "${CONTENT_TYPE-unset}" "${HTTP_PROXY-unset}" "${HTTPS_PROXY-unset}" "${PROXY-unset}"
            """;
        await using var world = await TestWorld.Create()
            .WithUnit("cgi", $"mode: cgi\ncommand: '{Command.Replace("'", "''", StringComparison.Ordinal)}'\nattempts: 1\n")
            .StartAsync();

        var output = await RunAsync(world, "cgi", "text/x-test",
            ("Accept", "text/html"),
            ("User-Agent", "tester/1"),
            ("X-Foo", "foo value"),
            ("Foo-Bar", "bar value"),
            ("Proxy", "http://127.0.0.1:9/"),
            ("Https-Proxy", "http://127.0.0.1:9/"));

        Assert.Equal("text/html|tester/1|foo value|bar value|text/x-test|unset|unset|unset|", output);
    }

    [Theory]
    [InlineData("LD_PRELOAD")]
    [InlineData("Ld-Preload")]
    [InlineData("Pythonpath")]
    [InlineData("Node-Options")]
    [InlineData("Http-Proxy")]
    [InlineData("Bash-Env")]
    public async Task Load_EnvironmentHeadersNamingBlockedVariable_RefusedWithFileKeyAndLine(string header)
    {
        await using var world = TestWorld.Create()
            .WithUnit("sneaky", $"command: cat\nenvironment_headers:\n  - X-Fine\n  - {header}\n");

        var error = await Assert.ThrowsAsync<UnitConfigException>(world.StartAsync);

        Assert.EndsWith("sneaky.yaml", error.FileName, StringComparison.Ordinal);
        Assert.Equal("environment_headers[1]", error.Key);
        Assert.Equal(4, error.Line);
        Assert.Contains(header, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_EnvironmentHeadersInCgiMode_RefusedWithFileAndKey()
    {
        await using var world = TestWorld.Create()
            .WithUnit("cgi", "mode: cgi\ncommand: cat\nenvironment_headers: [If-Match]\n");

        var error = await Assert.ThrowsAsync<UnitConfigException>(world.StartAsync);

        Assert.Equal("environment_headers", error.Key);
        Assert.Contains("bin mode only", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs <paramref name="command"/> once with <paramref name="variables"/> in the unit's own environment (the attack
    /// must work there) and once with them as request headers (it must not).
    /// </summary>
    private static async Task AssertSteeringBlockedAsync(TestWorld world, string command, Dictionary<string, string> variables, string markerName)
    {
        var marker = Path.Combine(world.Root, markerName);
        var environment = string.Concat(variables.Select(p => $"  {p.Key}: '{p.Value.Replace("'", "''", StringComparison.Ordinal)}'\n"));
        await world
            .WithUnit("control", $"command: {command}\nattempts: 1\nenvironment:\n{environment}")
            .WithUnit("target", $"command: {command}\nattempts: 1\n")
            .StartAsync();

        await RunAsync(world, "control", null);
        Assert.True(File.Exists(marker), "the attack does not work even from the unit's environment, so the test proves nothing");
        File.Delete(marker);

        await RunAsync(world, "target", null, [.. variables.Select(p => (p.Key, p.Value))]);

        Assert.False(File.Exists(marker), "a request header steered the interpreter");
    }

    private static async Task<string> RunAsync(TestWorld world, string unit, string? contentType, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/{unit}/") { Content = new StringContent("body") };
        if (contentType is not null)
        {
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        foreach (var (name, value) in headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value), name);
        }

        using var response = await world.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        var record = await world.WaitCompleteAsync(unit, id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString()!;
        return await world.GetResultAsync(unit, id, attemptId);
    }

    // A program the BROWSER variable can name: it creates the marker file when started.
    private static string MarkerScript(TestWorld world, string markerName)
    {
        var script = Path.Combine(world.Root, "mark-" + markerName);
        File.WriteAllText(script, $"#!/bin/sh\ntouch '{Path.Combine(world.Root, markerName)}'\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    /// <summary>The attack is proven against the real interpreter, so a machine without it fails the test (eng/test installs it).</summary>
    private static void RequireOnPath(string program) =>
        Assert.True(
            (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
                .Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Any(folder => File.Exists(Path.Combine(folder, program))),
            $"{program} is not on PATH: run the suite with eng/test, which installs what the tests drive");
}
