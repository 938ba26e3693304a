using Microsoft.Extensions.Logging;

namespace NanoRun.Runners;

/// <summary>Source-generated log messages of the cgi runner; event ids 3200–3299.</summary>
internal static partial class CgiRunnerLog
{
    [LoggerMessage(EventId = 3200, Level = LogLevel.Warning, Message = "{RequestId}/{AttemptId} malformed CGI response, attempt is 502: {Reason}")]
    public static partial void Malformed(ILogger logger, string requestId, string attemptId, string reason);
}
