using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace NanoRun.Runners;

/// <summary>
/// A file per running attempt's process group under a folder of the data directory, so that the next start can kill
/// the groups a server killed with SIGKILL left behind.
/// </summary>
/// <remarks>
/// Each file <c>{folder}/{pgid}</c> holds the group id, its leader's start time (field 22 of <c>/proc/{pid}/stat</c>, in
/// clock ticks since boot), and the same two values for the server that owns it. A sweep kills a group only when its
/// owner is gone and the leader's start time still matches, so it never signals a process that reused the pid, nor the
/// attempts of another live server sharing the folder. The files need no fsync: they guard against a dead server, not a
/// dead machine, whose reboot ends every process anyway.
/// </remarks>
internal sealed partial class ProcessGroupLedger
{
    private const int SigKill = 9;

    private readonly string _folder;
    private readonly ILogger<ProcessGroupLedger> _logger;
    private readonly string _owner;

    public ProcessGroupLedger(string folder, ILogger<ProcessGroupLedger> logger)
    {
        _folder = folder;
        _logger = logger;
        var self = Environment.ProcessId;
        _owner = self.ToString(CultureInfo.InvariantCulture) + " " + (StartTime(self) ?? "0");
    }

    /// <summary>Records a started group; a failure is logged and the attempt goes on unrecorded.</summary>
    public void Add(int groupId)
    {
        if (StartTime(groupId) is not { } started)
        {
            return;
        }

        try
        {
            Storage.PrivateFiles.CreateFolder(_folder);
            File.WriteAllText(PathOf(groupId), string.Create(CultureInfo.InvariantCulture, $"{groupId} {started} {_owner}\n"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogNotRecorded(_logger, groupId, e);
        }
    }

    /// <summary>Forgets a group once it has been killed or has ended.</summary>
    public void Remove(int groupId)
    {
        try
        {
            File.Delete(PathOf(groupId));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogNotRecorded(_logger, groupId, e);
        }
    }

    /// <summary>Kills the recorded groups whose server is gone and whose leader is still the recorded process; returns how many.</summary>
    public int SweepOrphans()
    {
        if (!Directory.Exists(_folder))
        {
            return 0;
        }

        var killed = 0;
        foreach (var path in Directory.EnumerateFiles(_folder))
        {
            string[] fields;
            try
            {
                fields = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (fields.Length != 4
                || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var groupId)
                || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ownerId))
            {
                TryDelete(path);
                continue;
            }

            if (StartTime(ownerId) == fields[3])
            {
                // Its server still runs (another node sharing the folder, or this very process): not an orphan.
                continue;
            }

            // The leader alone when its group is not there (a group recorded by an older version, started through setsid).
            if (StartTime(groupId) == fields[1] && (kill(-groupId, SigKill) == 0 || kill(groupId, SigKill) == 0))
            {
                killed++;
                LogOrphanKilled(_logger, groupId);
            }

            TryDelete(path);
        }

        return killed;
    }

    /// <summary>Field 22 of <c>/proc/{pid}/stat</c>, the start time in clock ticks since boot; <c>null</c> when the process is gone.</summary>
    internal static string? StartTime(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may itself hold spaces and parentheses: count from the last ')'.
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var rest = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        const int StartTimeIndex = 22 - 3;
        return rest.Length > StartTimeIndex ? rest[StartTimeIndex] : null;
    }

    private string PathOf(int groupId) => Path.Join(_folder, groupId.ToString(CultureInfo.InvariantCulture));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Swept again at the next start.
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LoggerMessage(EventId = 3120, Level = LogLevel.Warning, Message = "Killed process group {GroupId} left running by a server that died")]
    private static partial void LogOrphanKilled(ILogger logger, int groupId);

    [LoggerMessage(EventId = 3121, Level = LogLevel.Warning, Message = "Process group {GroupId} could not be recorded in the data folder; it is not swept if the server dies")]
    private static partial void LogNotRecorded(ILogger logger, int groupId, Exception exception);
}
