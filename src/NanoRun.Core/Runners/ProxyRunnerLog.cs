using Microsoft.Extensions.Logging;

namespace NanoRun.Runners;

/// <summary>Source-generated log messages of the proxy runner; event ids 3300–3399.</summary>
internal static partial class ProxyRunnerLog
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Warning, Message = "{RequestId}/{AttemptId} upstream {Url} failed, attempt is 502: {Reason}")]
    public static partial void Failed(ILogger logger, string requestId, string attemptId, string url, string reason, Exception? exception);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Debug, Message = "{RequestId}/{AttemptId} upstream answered {Code} with {Length} bytes")]
    public static partial void Finished(ILogger logger, string requestId, string attemptId, int code, long length);
}
