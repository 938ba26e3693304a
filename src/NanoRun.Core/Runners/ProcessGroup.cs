using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace NanoRun.Runners;

/// <summary>
/// The process group of one attempt: the shell started as the leader of a new session, whose pid is the group id,
/// and every child and grandchild that stays in it.
/// </summary>
/// <remarks>
/// Timers and the cancellation registration call into this object from other threads, so it holds
/// everything they need and the callbacks stay static.
/// </remarks>
internal sealed partial class ProcessGroup
{
    private const int SigInt = 2;
    private const int SigKill = 9;
    private const int NoSuchProcess = 3; // ESRCH: every member has already exited.

    private readonly ILogger _logger;
    private readonly string _requestId;
    private readonly string _attemptId;

    public ProcessGroup(int id, ILogger logger, string requestId, string attemptId)
    {
        Id = id;
        _logger = logger;
        _requestId = requestId;
        _attemptId = attemptId;
    }

    /// <summary>The process group id, equal to the pid of the session leader.</summary>
    public int Id { get; }

    /// <summary>Timer callback for <c>graceful_timeout</c>: SIGINT to the whole group.</summary>
    public static void OnGracefulTimeout(object? state)
    {
        var group = (ProcessGroup)state!;
        ShellRunnerLog.GracefulTimeout(group._logger, group._requestId, group._attemptId, group.Id);
        group.Send(SigInt);
    }

    /// <summary>Timer callback for <c>timeout</c>: SIGKILL to the whole group.</summary>
    public static void OnTimeout(object? state)
    {
        var group = (ProcessGroup)state!;
        ShellRunnerLog.Timeout(group._logger, group._requestId, group._attemptId, group.Id);
        group.Send(SigKill);
    }

    /// <summary>Cancellation callback: SIGKILL to the whole group.</summary>
    public static void OnCancelled(object? state)
    {
        var group = (ProcessGroup)state!;
        ShellRunnerLog.Cancelled(group._logger, group._requestId, group._attemptId, group.Id);
        group.Send(SigKill);
    }

    /// <summary>SIGKILL to whatever is left of the group; nothing left is fine.</summary>
    public void Kill() => Send(SigKill);

    private void Send(int signal)
    {
        if (kill(-Id, signal) == 0)
        {
            return;
        }

        var error = Marshal.GetLastPInvokeError();
        if (error != NoSuchProcess)
        {
            ShellRunnerLog.SignalFailed(_logger, _requestId, _attemptId, signal, Id, error);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
