using System.Net;
using NanoRun.Configuration;
using NanoRun.Units;

namespace NanoRun.Server.Tests.Process;

public sealed class CommandLineTests
{
    [Fact]
    public async Task Run_ProgramWithArguments_ServesUnitMainRunningExactlyThoseWords()
    {
        await using var world = TestWorld.Create();
        var data = Path.Combine(world.Root, "main-data");
        using var server = ServerProcess.Start(world.Root, "run", "--bind", "127.0.0.1:0", "--directory", data, "sh", "-c", "printf '%s|' \"$1\" \"$2\"; cat", "sh", "it's a \"test\"", "$HOME; -x");
        using var client = new HttpClient { BaseAddress = await server.WaitListeningAsync() };

        using var response = await client.PutAsync("api/main/?wait=30s", new StringContent("body"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("it's a \"test\"|$HOME; -x|body", await response.Content.ReadAsStringAsync());
        Assert.True(Directory.Exists(data));
    }

    [Fact]
    public async Task Run_FlagsFromEnvironment_AttemptsAndIntervalApply()
    {
        await using var world = TestWorld.Create();
        var environment = new Dictionary<string, string>
        {
            ["NANO_RUN_BIND"] = "127.0.0.1:0",
            ["NANO_RUN_DIRECTORY"] = Path.Combine(world.Root, "env-data"),
            ["NANO_RUN_ATTEMPTS"] = "2",
            ["NANO_RUN_INTERVAL"] = "10ms",
            ["NANO_RUN_CONCURRENCY"] = "2",
        };
        using var server = ServerProcess.StartWithEnvironment(world.Root, environment, "run", "false");
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await server.WaitListeningAsync() };

        using var response = await client.PutAsync("api/main/?wait=30s", new StringContent("x"));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        using var record = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"api/main/{id}"));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("failed", record.RootElement.GetProperty("outcome").GetString());
        Assert.Equal(2, record.RootElement.GetProperty("attempts").GetArrayLength());
    }

    [Fact]
    public async Task Run_ProxyModeToDeadUrl_502Attempt()
    {
        await using var world = TestWorld.Create();
        using var server = ServerProcess.Start(world.Root, "run", "--bind", "127.0.0.1:0", "-d", Path.Combine(world.Root, "p"), "--mode", "proxy", "--attempts", "1", "http://127.0.0.1:1/");
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await server.WaitListeningAsync() };

        using var response = await client.PutAsync("api/main/?wait=30s", new StringContent("x"));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        using var record = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"api/main/{id}"));

        Assert.Equal(502, record.RootElement.GetProperty("attempts")[0].GetProperty("code").GetInt32());
    }

    [Theory]
    [InlineData("--attempts", "zero", "--attempts must be a whole number")]
    [InlineData("--interval", "soon", "--interval must be a duration")]
    [InlineData("--mode", "fast", "--mode must be bin, cgi or proxy")]
    public async Task Run_BadFlag_ExitsWith2AndSaysWhy(string flag, string value, string message)
    {
        await using var world = TestWorld.Create();
        using var server = ServerProcess.Start(world.Root, "run", flag, value, "true");

        var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains(message, server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "run", "ls", "-la" }, new[] { "run", "--", "ls", "-la" })]
    [InlineData(new[] { "run", "--bind", "x:1", "-d", "dir", "echo", "--bind" }, new[] { "run", "--bind", "x:1", "-d", "dir", "--", "echo", "--bind" })]
    [InlineData(new[] { "run", "--mode=cgi", "./script" }, new[] { "run", "--mode=cgi", "--", "./script" })]
    [InlineData(new[] { "run", "--", "ls" }, new[] { "run", "--", "ls" })]
    [InlineData(new[] { "server", "run", "-c", "x" }, new[] { "server", "run", "-c", "x" })]
    public void SeparateProgram_CommandLines_ProgramFlagsStayTheProgramsOwn(string[] args, string[] expected)
    {
        var separated = RunCommand.SeparateProgram(args);

        Assert.Equal(expected, separated);
    }

    [Fact]
    public async Task Init_EmptyFolder_WritesLoadableCommentedConfigFoldersAndSample()
    {
        await using var world = TestWorld.Create();
        var folder = Path.Combine(world.Root, "site");
        using var server = ServerProcess.Start(world.Root, "server", "init", "-d", folder);

        var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(60));
        var options = ServerConfigLoader.LoadFile(Path.Combine(folder, "server.yaml"));
        var units = UnitLoader.LoadDirectory(options.ConfigDirectory);

        Assert.Equal(0, exitCode);
        Assert.StartsWith("#", await File.ReadAllTextAsync(Path.Combine(folder, "server.yaml")), StringComparison.Ordinal);
        Assert.Equal(Path.Combine(folder, "conf.d"), options.ConfigDirectory);
        Assert.Equal(Path.Combine(folder, "run"), options.DataDirectory);
        Assert.True(Directory.Exists(options.DataDirectory));
        Assert.Equal("127.0.0.1:8989", options.Bind);
        Assert.Equal("sample", Assert.Single(units).Name);
    }

    [Fact]
    public async Task Init_ExistingConfig_RefusesWithoutForceAndOverwritesWithIt()
    {
        await using var world = TestWorld.Create();
        var folder = Path.Combine(world.Root, "site");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "custom.yaml"), "bind: 127.0.0.1:1\n");

        using var refused = ServerProcess.Start(world.Root, "server", "init", "-d", folder, "--config-file", "custom.yaml");
        var refusedCode = await refused.WaitExitAsync(TimeSpan.FromSeconds(60));
        var kept = await File.ReadAllTextAsync(Path.Combine(folder, "custom.yaml"));
        using var forced = ServerProcess.Start(world.Root, "server", "init", "-d", folder, "--config-file", "custom.yaml", "--force", "--no-sample");
        var forcedCode = await forced.WaitExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, refusedCode);
        Assert.Contains("already exists", refused.Output, StringComparison.Ordinal);
        Assert.Equal("bind: 127.0.0.1:1\n", kept);
        Assert.False(File.Exists(Path.Combine(folder, "conf.d", "sample.yaml")));
        Assert.Equal(0, forcedCode);
        Assert.Contains("bind: 127.0.0.1:8989", await File.ReadAllTextAsync(Path.Combine(folder, "custom.yaml")), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "conf.d", "sample.yaml")));
    }
}
