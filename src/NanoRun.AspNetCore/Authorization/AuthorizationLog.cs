using Microsoft.Extensions.Logging;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>Source-generated log messages of unit authorization; event ids 4100–4199. Credentials are never logged.</summary>
internal static partial class AuthorizationLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Debug, Message = "{Method} {Path} refused with {Status}: {Reason}")]
    public static partial void Refused(ILogger logger, string method, string path, int status, string reason);
}
