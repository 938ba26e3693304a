using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using NanoRun.Runners;

namespace NanoRun.Core.Tests.Runners;

public sealed class ProcessGroupLedgerTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "nano-run-ledger-" + Guid.NewGuid().ToString("N"));
    private readonly List<Process> _started = [];

    [Fact]
    public void SweepOrphans_GroupOfDeadServer_KilledAndForgotten()
    {
        var leader = StartGroup();
        var ledger = new ProcessGroupLedger(_folder, NullLogger<ProcessGroupLedger>.Instance);
        Record(leader.Id, ProcessGroupLedger.StartTime(leader.Id)!, owner: "1 0");

        var killed = ledger.SweepOrphans();

        Assert.Equal(1, killed);
        Assert.True(leader.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void SweepOrphans_PidReusedByStranger_LeftAlive()
    {
        var stranger = StartGroup();
        var ledger = new ProcessGroupLedger(_folder, NullLogger<ProcessGroupLedger>.Instance);
        Record(stranger.Id, "1", owner: "1 0");

        var killed = ledger.SweepOrphans();

        Assert.Equal(0, killed);
        Assert.False(stranger.HasExited);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void SweepOrphans_OwnerStillRunning_GroupLeftAndRecordKept()
    {
        var leader = StartGroup();
        var ledger = new ProcessGroupLedger(_folder, NullLogger<ProcessGroupLedger>.Instance);
        ledger.Add(leader.Id);

        var killed = ledger.SweepOrphans();

        Assert.Equal(0, killed);
        Assert.False(leader.HasExited);
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Remove_AfterAdd_LeavesNoRecord()
    {
        var leader = StartGroup();
        var ledger = new ProcessGroupLedger(_folder, NullLogger<ProcessGroupLedger>.Instance);

        ledger.Add(leader.Id);
        ledger.Remove(leader.Id);

        Assert.Empty(Directory.GetFiles(_folder));
    }

    public void Dispose()
    {
        foreach (var process in _started)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.Dispose();
        }

        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>A <c>sleep</c> leading its own process group, as an attempt's shell does.</summary>
    private Process StartGroup()
    {
        var process = Process.Start(new ProcessStartInfo("/usr/bin/setsid", ["sleep", "300"]) { UseShellExecute = false })!;
        _started.Add(process);
        return process;
    }

    private void Record(int groupId, string startTime, string owner)
    {
        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, groupId.ToString(CultureInfo.InvariantCulture)), $"{groupId} {startTime} {owner}\n");
    }
}
