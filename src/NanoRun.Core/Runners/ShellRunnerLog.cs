using Microsoft.Extensions.Logging;

namespace NanoRun.Runners;

/// <summary>Source-generated log messages of the bin and cgi runners; event ids 3100–3199.</summary>
internal static partial class ShellRunnerLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "{RequestId}/{AttemptId} stderr: {Line}")]
    public static partial void Stderr(ILogger logger, string requestId, string attemptId, string line);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "{RequestId}/{AttemptId} cannot start: {Reason}")]
    public static partial void StartFailed(ILogger logger, string requestId, string attemptId, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "{RequestId}/{AttemptId} cannot start")]
    public static partial void StartFailed(ILogger logger, string requestId, string attemptId, Exception exception);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "{RequestId}/{AttemptId} graceful timeout: SIGINT to process group {ProcessGroup}")]
    public static partial void GracefulTimeout(ILogger logger, string requestId, string attemptId, int processGroup);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "{RequestId}/{AttemptId} timeout: SIGKILL to process group {ProcessGroup}")]
    public static partial void Timeout(ILogger logger, string requestId, string attemptId, int processGroup);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information, Message = "{RequestId}/{AttemptId} cancelled: SIGKILL to process group {ProcessGroup}")]
    public static partial void Cancelled(ILogger logger, string requestId, string attemptId, int processGroup);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Error, Message = "{RequestId}/{AttemptId} signal {Signal} to process group {ProcessGroup} failed with errno {Errno}")]
    public static partial void SignalFailed(ILogger logger, string requestId, string attemptId, int signal, int processGroup, int errno);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Warning, Message = "{RequestId}/{AttemptId} output still open after the process group was killed; a process left the group; output cut off")]
    public static partial void OutputCutOff(ILogger logger, string requestId, string attemptId);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Warning, Message = "{RequestId}/{AttemptId} saved body is gone; stdin is empty")]
    public static partial void BodyMissing(ILogger logger, string requestId, string attemptId);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Warning, Message = "{RequestId}/{AttemptId} cannot remove work folder {Folder}")]
    public static partial void WorkFolderNotRemoved(ILogger logger, string requestId, string attemptId, string folder, Exception exception);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Debug, Message = "{RequestId}/{AttemptId} exited with {ReturnCode}; {Code} with {Length} bytes")]
    public static partial void Finished(ILogger logger, string requestId, string attemptId, int returnCode, int code, long length);
}
