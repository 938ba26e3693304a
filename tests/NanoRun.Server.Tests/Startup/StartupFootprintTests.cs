using System.Diagnostics;
using System.Net;
using System.Text.Json;
using NanoRun.Core.Tests;
using NanoRun.Server.Tests.Process;

namespace NanoRun.Server.Tests.Startup;

/// <summary>What every server pays for at start, whatever the host: the GC's young budget and what loads only when used.</summary>
public sealed class StartupFootprintTests
{
    [Fact]
    public async Task AotBuild_AnyHost_Gen0BudgetCompiledIntoTheBinary()
    {
        // What the Native AOT compiler is given for nano-run: without GCgen0size the youngest generation's budget
        // follows the CPU cache the host reports (52 MB on a machine reporting 105 MB of L3, instead of 6 MB).
        // packaging/test-solo reads the effective budget back from the published binary (`version --verbose`).
        var project = RepositoryFolder.Path("src", "NanoRun.Server", "NanoRun.Server.csproj");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "msbuild", project, "-getItem:IlcArg", "-p:PublishAot=true", "-p:RuntimeIdentifier=linux-x64", "-nologo" })
        {
            info.ArgumentList.Add(arg);
        }

        using var msbuild = System.Diagnostics.Process.Start(info)!;
        var output = await msbuild.StandardOutput.ReadToEndAsync();
        await msbuild.WaitForExitAsync();
        using var items = JsonDocument.Parse(output);
        var ilcArgs = items.RootElement.GetProperty("Items").GetProperty("IlcArg").EnumerateArray().Select(static item => item.GetProperty("Identity").GetString()).ToList();

        Assert.Equal(0, msbuild.ExitCode);
        Assert.Contains("--runtimeopt:GCgen0size=400000", ilcArgs);
    }

    [Fact]
    public async Task VersionVerbose_Jit_PrintsTheGcEffectiveSettings()
    {
        await using var world = TestWorld.Create();
        using var version = ServerProcess.Start(world.Root, "version", "--verbose");

        var exit = await version.WaitExitAsync(TimeSpan.FromSeconds(30));
        var lines = version.Output.ReplaceLineEndings("\n").Split('\n');

        Assert.Equal(0, exit);
        Assert.StartsWith("nano-run 0.", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, static line => line.StartsWith("gc GCGen0MaxBudget: ", StringComparison.Ordinal));
        Assert.Contains("gc ConcurrentGC: True", lines);
        Assert.Contains("gc ServerGC: False", lines);
    }

    [Fact]
    public async Task Start_UiEnabled_KeyRingWrittenOnFirstFormNotAtStart()
    {
        await using var world = await TestWorld.Create().WithUnit("u0", "command: 'true'\n").StartAsync();
        var keys = Path.Combine(world.DataDirectory, "keys");
        var atStart = Directory.GetFiles(keys);

        using var form = await world.Client.GetAsync("ui/units/u0");

        Assert.Empty(atStart);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Single(Directory.GetFiles(keys, "key-*.xml"));
    }
}
