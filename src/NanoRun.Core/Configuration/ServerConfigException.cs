namespace NanoRun.Configuration;

/// <summary>A <c>server.yaml</c> that cannot be read, parsed or validated; start-up stops with this message.</summary>
internal sealed class ServerConfigException(string fileName, string? key, string reason, int line = 0, int column = 0, Exception? innerException = null)
    : ConfigFileException(fileName, key, reason, line, column, innerException);
