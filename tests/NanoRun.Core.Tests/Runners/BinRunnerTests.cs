using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using NanoRun.Runners;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Runners;

public sealed class BinRunnerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Run_CatWithBody_Returns200WithSameBytes()
    {
        using var world = new BinRunnerWorld();
        var body = new byte[300_000];
        new Random(42).NextBytes(body);

        var result = await world.RunAsync("cat", body);

        Assert.Equal(200, result.Code);
        Assert.Equal("0", BinRunnerWorld.ReturnCode(result));
        Assert.Equal(body.Length, result.Body.Length);
        Assert.Equal(body, await world.ReadAsync(result.Body));
    }

    [Fact]
    public async Task Run_NoOutput_Returns204()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("true");

        Assert.Equal(204, result.Code);
        Assert.Equal("0", BinRunnerWorld.ReturnCode(result));
        Assert.Equal(0, result.Body.Length);
    }

    [Fact]
    public async Task Run_SignalsTheServerIgnores_AreDefaultInTheCommand()
    {
        // The server ignores SIGPIPE; a command must not inherit that, or `producer | head -1` pipelines would not end.
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("kill -PIPE $$; echo survived");

        Assert.Equal(502, result.Code);
        Assert.Equal("141", BinRunnerWorld.ReturnCode(result)); // 128 + SIGPIPE
        Assert.Equal(string.Empty, await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_MissingWorkDirectory_NotStartedAndLogged()
    {
        using var world = new BinRunnerWorld();

        var unit = new UnitDefinition { Name = "test", Command = "echo never", WorkDirectory = Path.Combine(world.Folder, "missing") };
        var result = await world.Runner.RunAsync(await world.ContextAsync(unit), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(502, result.Code);
        Assert.Equal("-1", BinRunnerWorld.ReturnCode(result));
        Assert.Contains(world.Logger.Entries, e => e.Id.Id == 3102);
    }

    [Fact]
    public async Task Run_NonZeroExit_Returns502WithReturnCode()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("echo partial; exit 3");

        Assert.Equal(502, result.Code);
        Assert.Equal("3", BinRunnerWorld.ReturnCode(result));
        Assert.Equal("partial\n", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_RequestHeaders_VisibleAsEnvironment()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync(
            "printf '%s|%s|%s' \"$X_CUSTOM_HEADER\" \"$X_MULTI\" \"$CONTENT_TYPE\"",
            null,
            new("X-Custom-Header", "custom value"),
            new("X-Multi", "a"),
            new("x-multi", "b"),
            new("Content-Type", "text/plain"),
            new("Bad.Name", "skipped"));

        Assert.Equal(200, result.Code);
        Assert.Equal("custom value|a,b|text/plain", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_HeadersNamingServerOrLoaderVariables_AreIgnored()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync(
            "printf '%s|%s|%s' \"$PATH\" \"${LD_PRELOAD-unset}\" \"${BASH_ENV-unset}\"",
            null,
            new("Path", "/nowhere"),
            new("Ld-Preload", "/tmp/evil.so"),
            new("Bash-Env", "/tmp/evil.sh"));

        Assert.Equal($"{Environment.GetEnvironmentVariable("PATH")}|unset|unset", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_AttemptHeaders_VisibleAndWinOverRequestHeaders()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync(
            "printf '%s|%s|%s' \"$X_CORRELATION_ID\" \"$X_ATTEMPT_ID\" \"$X_ATTEMPT\"",
            null,
            new("X-Attempt", "99"),
            new("X-Correlation-Id", "forged"));

        Assert.Equal($"{world.RequestId}|{world.AttemptId}|2", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_UnitEnvironment_WinsOverHeaders()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition
        {
            Name = "test",
            Command = "printf '%s|%s|%s' \"$GREETING\" \"$X_ATTEMPT\" \"$HOME\"",
            Environment = new Dictionary<string, string> { ["GREETING"] = "from unit", ["X_ATTEMPT"] = "unit" },
        };
        var context = await world.ContextAsync(unit, null, new KeyValuePair<string, string>("Greeting", "from header"));

        var result = await world.Runner.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal($"from unit|unit|{Environment.GetEnvironmentVariable("HOME")}", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_WorkDirectoryUnset_UsesFreshFolderRemovedAfterwards()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("touch leftover && pwd");

        var folder = (await world.ReadTextAsync(result.Body)).Trim();
        Assert.Equal(200, result.Code);
        Assert.StartsWith(Path.GetTempPath().TrimEnd('/'), folder);
        Assert.Contains("nano-run-", folder);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task Run_WorkDirectoryUnsetAndCommandFails_FolderStillRemoved()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("pwd; exit 1");

        Assert.Equal(502, result.Code);
        Assert.False(Directory.Exists((await world.ReadTextAsync(result.Body)).Trim()));
    }

    [Fact]
    public async Task Run_WorkDirectorySet_RunsThere()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Command = "pwd", WorkDirectory = world.Folder };
        var context = await world.ContextAsync(unit);

        var result = await world.Runner.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(world.Folder + "\n", await world.ReadTextAsync(result.Body));
        Assert.True(Directory.Exists(world.Folder));
    }

    [Fact]
    public async Task Run_Timeout_KillsGroupWith502()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Command = "sleep 30", Timeout = TimeSpan.FromMilliseconds(300) };
        var context = await world.ContextAsync(unit);
        var clock = Stopwatch.StartNew();

        var result = await world.Runner.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(502, result.Code);
        Assert.Equal("137", BinRunnerWorld.ReturnCode(result)); // 128 + SIGKILL
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Run_TimeoutOnFakeClock_KillsWhenClockPasses()
    {
        using var world = new BinRunnerWorld();
        var clock = new FakeTimeProvider();
        var runner = new BinRunner(world.Logger, clock);
        var unit = new UnitDefinition
        {
            Name = "test",
            Command = "echo $$ > sh.pid; sleep 30",
            WorkDirectory = world.Folder,
            Timeout = TimeSpan.FromMinutes(1),
        };
        var context = await world.ContextAsync(unit);
        var run = runner.RunAsync(context, CancellationToken.None);
        await world.PidAsync("sh.pid");

        clock.Advance(TimeSpan.FromMinutes(1));
        var result = await run.WaitAsync(Deadline);

        Assert.Equal(502, result.Code);
        Assert.Equal("137", BinRunnerWorld.ReturnCode(result));
    }

    [Fact]
    public async Task Run_GracefulTimeout_SendsSigint()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition
        {
            Name = "test",
            Command = "trap 'echo interrupted; exit 0' INT; sleep 30",

            // Long enough for the shell to install its trap even on a loaded machine.
            GracefulTimeout = TimeSpan.FromSeconds(2),
            Timeout = TimeSpan.FromSeconds(20),
        };
        var context = await world.ContextAsync(unit);

        var result = await world.Runner.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(200, result.Code);
        Assert.Equal("interrupted\n", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_GracefulTimeoutUntrapped_ReportsSigint()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Command = "sleep 30", GracefulTimeout = TimeSpan.FromMilliseconds(300) };
        var context = await world.ContextAsync(unit);

        var result = await world.Runner.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(502, result.Code);
        Assert.Equal("130", BinRunnerWorld.ReturnCode(result)); // 128 + SIGINT
    }

    [Fact]
    public async Task Run_Cancelled_KillsShellAndGrandchildWith502()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition
        {
            Name = "test",
            Command = "sleep 300 & echo $! > bg.pid; echo $$ > sh.pid; sleep 300",
            WorkDirectory = world.Folder,
        };
        var context = await world.ContextAsync(unit);
        using var cancel = new CancellationTokenSource();
        var run = world.Runner.RunAsync(context, cancel.Token);
        var background = await world.PidAsync("bg.pid");
        var shell = await world.PidAsync("sh.pid");

        await cancel.CancelAsync();
        var result = await run.WaitAsync(Deadline);

        Assert.Equal(502, result.Code);
        Assert.Equal("137", BinRunnerWorld.ReturnCode(result));
        await BinRunnerWorld.WaitUntilAsync(() => BinRunnerWorld.IsGone(background) && BinRunnerWorld.IsGone(shell), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Run_CancelledBeforeStart_Returns502WithoutStarting()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Command = "touch started", WorkDirectory = world.Folder };
        var context = await world.ContextAsync(unit);

        var result = await world.Runner.RunAsync(context, new CancellationToken(true)).WaitAsync(Deadline);

        Assert.Equal(502, result.Code);
        Assert.Equal("-1", BinRunnerWorld.ReturnCode(result));
        Assert.False(File.Exists(Path.Combine(world.Folder, "started")));
    }

    [Fact]
    public async Task Run_GrandchildHoldingOutputOutlivesShell_IsKilledAndResultKept()
    {
        using var world = new BinRunnerWorld();
        var clock = Stopwatch.StartNew();

        var result = await world.RunAsync("sleep 300 & echo $!");

        var background = int.Parse((await world.ReadTextAsync(result.Body)).Trim(), CultureInfo.InvariantCulture);
        Assert.Equal(200, result.Code);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        await BinRunnerWorld.WaitUntilAsync(() => BinRunnerWorld.IsGone(background), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Run_ProcessLeftGroupHoldingOutput_OutputCutOffAfterGrace()
    {
        using var world = new BinRunnerWorld();
        var pidFile = Path.Combine(world.Folder, "escaped.pid");
        try
        {
            var result = await world.RunAsync($"setsid sh -c 'echo $$ > {pidFile}; exec sleep 300' & while [ ! -s {pidFile} ]; do sleep 0.01; done; echo done");

            Assert.Equal(200, result.Code);
            Assert.Equal("done\n", await world.ReadTextAsync(result.Body));
            Assert.Contains(world.Logger.Entries, e => e.Id.Id == 3107);
        }
        finally
        {
            var escaped = await world.PidAsync("escaped.pid");
            Process.GetProcessById(escaped).Kill();
        }
    }

    [Fact]
    public async Task Run_LargeOutput_StreamedToBlobWithExactLength()
    {
        using var world = new BinRunnerWorld();
        const long size = 52_428_800;

        var result = await world.RunAsync($"head -c {size} /dev/zero");

        Assert.Equal(200, result.Code);
        Assert.Equal(size, result.Body.Length);
        Assert.Equal(size, new FileInfo(world.Blobs.PathOf(result.Body.Key!)).Length);
    }

    [Fact]
    public async Task Run_CommandIgnoresLargeBody_NoError()
    {
        using var world = new BinRunnerWorld();
        var body = new byte[8 * 1024 * 1024];

        var result = await world.RunAsync("echo ignored", body);

        Assert.Equal(200, result.Code);
        Assert.Equal("ignored\n", await world.ReadTextAsync(result.Body));
    }

    [Fact]
    public async Task Run_Shell_IsLeaderOfItsOwnGroupStartedInPlace()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("echo $$ $(cut -d' ' -f5 /proc/$$/stat) $PPID");

        var fields = (await world.ReadTextAsync(result.Body)).Split(' ', StringSplitOptions.TrimEntries);
        Assert.Equal(fields[0], fields[1]); // pid == pgid
        Assert.Equal(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), fields[2]); // started in place, no helper in between
    }

    [Fact]
    public async Task Run_Stderr_LoggedPerLineWithIdsAndLongLinesCut()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("echo first >&2; echo second >&2; head -c 20000 /dev/zero | tr '\\0' a >&2");

        var lines = new List<string>();
        foreach (var entry in world.Logger.Entries)
        {
            if (entry.Id.Id == 3100)
            {
                lines.Add(entry.Message);
            }
        }

        var prefix = $"{world.RequestId}/{world.AttemptId} stderr: ";
        Assert.Equal(204, result.Code);
        Assert.Equal(3, lines.Count);
        Assert.Equal(prefix + "first", lines[0]);
        Assert.Equal(prefix + "second", lines[1]);
        Assert.Equal(prefix + new string('a', 8192) + "…", lines[2]);
    }

    [Fact]
    public async Task Run_ShellMissing_Returns502WithMinusOne()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Command = "true", Shell = "/no/such/shell" };
        var context = await world.ContextAsync(unit);

        var result = await world.Runner.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(502, result.Code);
        Assert.Equal("-1", BinRunnerWorld.ReturnCode(result));
        Assert.Contains(world.Logger.Entries, e => e.Id.Id == 3101);
    }

    [Fact]
    public async Task Run_UserSet_RunsAsThatUserOrRefusesWhenNotRoot()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Command = "touch mine && id -u", User = "nobody" };
        var context = await world.ContextAsync(unit);
        var root = Environment.UserName == "root";

        var result = await world.Runner.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        if (root)
        {
            Assert.Equal(200, result.Code);
            Assert.Equal("65534\n", await world.ReadTextAsync(result.Body));
        }
        else
        {
            Assert.Equal(502, result.Code);
            Assert.Equal("-1", BinRunnerWorld.ReturnCode(result));
        }
    }

    [Fact]
    public async Task Run_UnknownUser_Returns502()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Command = "true", User = "no-such-user-nano-run" };
        var context = await world.ContextAsync(unit);

        var result = await world.Runner.RunAsync(context, CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(502, result.Code);
        Assert.Equal("-1", BinRunnerWorld.ReturnCode(result));
    }
}
