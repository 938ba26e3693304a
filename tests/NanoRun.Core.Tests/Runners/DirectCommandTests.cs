using System.Globalization;
using NanoRun.Runners;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Runners;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DirectCommandTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("true", new[] { "true" })]
    [InlineData("  cat   /proc/self/stat\t-x ", new[] { "cat", "/proc/self/stat", "-x" })]
    [InlineData("/usr/bin/env", new[] { "/usr/bin/env" })]
    [InlineData("./run.sh --fast a.b,c", new[] { "./run.sh", "--fast", "a.b,c" })]
    public void TrySplit_NoShellSyntax_GivesTheWords(string command, string[] words)
    {
        var argv = new List<string>();

        var direct = DirectCommand.TrySplit(command, argv);

        Assert.True(direct);
        Assert.Equal(words, argv);
    }

    [Theory]
    [InlineData("echo a | cat")]
    [InlineData("true && true")]
    [InlineData("true; true")]
    [InlineData("cat < in")]
    [InlineData("cat > out")]
    [InlineData("(true)")]
    [InlineData("echo $HOME")]
    [InlineData("echo `id`")]
    [InlineData("cat a\\ b")]
    [InlineData("cat \"a b\"")]
    [InlineData("cat 'a b'")]
    [InlineData("ls *.txt")]
    [InlineData("ls ?.txt")]
    [InlineData("ls [ab].txt")]
    [InlineData("true # comment")]
    [InlineData("ls ~")]
    [InlineData("FOO=1 env")]
    [InlineData("date +%s")]
    [InlineData("ls {a,b}")]
    [InlineData("true\ntrue")]
    [InlineData("cd /tmp")]
    [InlineData("exit 3")]
    [InlineData("echo plain")]
    [InlineData("if")]
    [InlineData("true --help")]
    [InlineData("")]
    [InlineData("   ")]
    public void TrySplit_ShellSyntaxOrShellWord_NeedsTheShell(string command)
    {
        var argv = new List<string>();

        var direct = DirectCommand.TrySplit(command, argv);

        Assert.False(direct);
        Assert.Empty(argv);
    }

    [Fact]
    public void Resolve_SearchesPathInOrderAndLeavesOddSearchesToTheShell()
    {
        using var world = new BinRunnerWorld();
        var first = Directory.CreateDirectory(Path.Combine(world.Folder, "first")).FullName;
        var second = Directory.CreateDirectory(Path.Combine(world.Folder, "second")).FullName;
        File.WriteAllText(Path.Combine(first, "tool"), "not executable");
        File.WriteAllText(Path.Combine(second, "tool"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(second, "tool"), UnixFileMode.UserRead | UnixFileMode.UserExecute);

        var found = DirectCommand.Resolve("tool", first + ":" + second);
        var relative = DirectCommand.Resolve("tool", "bin:" + second);
        var missing = DirectCommand.Resolve("no-such-tool", first);
        var noPath = DirectCommand.Resolve("tool", null);
        var withSlash = DirectCommand.Resolve("./tool", null);

        Assert.Equal(Path.Combine(second, "tool"), found);
        Assert.Null(relative);
        Assert.Null(missing);
        Assert.Null(noPath);
        Assert.Equal("./tool", withSlash);
    }

    [Fact]
    public async Task Run_PlainCommand_IsTheServersChildWithoutAShell()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("cat /proc/self/stat");

        Assert.Equal(200, result.Code);
        Assert.Equal(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ParentOf(await world.ReadTextAsync(result.Body)));
    }

    [Fact]
    public async Task Run_CommandWithShellSyntax_StillRunsThroughTheShell()
    {
        using var world = new BinRunnerWorld();

        var piped = await world.RunAsync("cat /proc/self/stat | cat");
        var pipedText = await world.ReadTextAsync(piped.Body);
        var quoted = await world.RunAsync("printf '%s|' \"a  b\" c");
        var quotedText = await world.ReadTextAsync(quoted.Body);

        Assert.Equal(200, piped.Code);
        Assert.NotEqual(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ParentOf(pipedText));
        Assert.Equal("a  b|c|", quotedText);
    }

    [Fact]
    public async Task Run_ShellKeySet_PlainCommandRunsThroughThatShell()
    {
        using var world = new BinRunnerWorld();
        var unit = new UnitDefinition { Name = "test", Command = "cat /proc/self/stat", Shell = "/bin/sh" };

        var result = await world.Runner.RunAsync(await world.ContextAsync(unit), CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(200, result.Code);
        Assert.NotEqual(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ParentOf(await world.ReadTextAsync(result.Body)));
    }

    [Fact]
    public async Task Run_PlainCommand_SeesTheEnvironmentAndFolderTheShellGives()
    {
        // The working directory is reached through a symbolic link: the shell exports its physical path as PWD.
        using var world = new BinRunnerWorld();
        var real = Directory.CreateDirectory(Path.Combine(world.Folder, "real")).FullName;
        var link = Path.Combine(world.Folder, "link");
        File.CreateSymbolicLink(link, real);
        KeyValuePair<string, string>[] headers = [new("X-Trace", "t-1")];
        var direct = UnitIn(link, "env", shell: null);
        var shell = UnitIn(link, "env", "/bin/sh");
        var directPwd = UnitIn(link, "/bin/pwd", shell: null);
        var shellPwd = UnitIn(link, "/bin/pwd", "/bin/sh");

        var fromDirect = await RunTextAsync(world, direct, headers);
        var fromShell = await RunTextAsync(world, shell, headers);
        var pwdDirect = await RunTextAsync(world, directPwd, headers);
        var pwdShell = await RunTextAsync(world, shellPwd, headers);

        Assert.Contains("UNIT_VAR=u", (IEnumerable<string>)fromDirect);
        Assert.Contains("X_TRACE=t-1", (IEnumerable<string>)fromDirect);
        Assert.Contains("PWD=" + real, (IEnumerable<string>)fromDirect);
        Assert.Equal(fromShell, fromDirect);
        Assert.Equal([real], pwdDirect);
        Assert.Equal(pwdShell, pwdDirect);
    }

    [Fact]
    public async Task Run_PlainCommandNotFound_ReportedByTheShellAs127()
    {
        using var world = new BinRunnerWorld();

        var result = await world.RunAsync("no-such-program-of-nano-run --flag");

        Assert.Equal(502, result.Code);
        Assert.Equal("127", BinRunnerWorld.ReturnCode(result));
    }

    private static UnitDefinition UnitIn(string folder, string command, string? shell) => new()
    {
        Name = "test",
        Command = command,
        Shell = shell,
        WorkDirectory = folder,
        Environment = new Dictionary<string, string> { ["UNIT_VAR"] = "u" },
    };

    private static async Task<List<string>> RunTextAsync(BinRunnerWorld world, UnitDefinition unit, KeyValuePair<string, string>[] headers)
    {
        var result = await world.Runner.RunAsync(await world.ContextAsync(unit, null, headers), CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(200, result.Code);
        var lines = (await world.ReadTextAsync(result.Body)).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>The parent pid in a <c>/proc/PID/stat</c> line (the command name holds no space here).</summary>
    private static string ParentOf(string stat) => stat.Split(' ')[3];
}
