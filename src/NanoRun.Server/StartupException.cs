namespace NanoRun.Server;

/// <summary>
/// A mistake found while the server starts (a configuration file, a folder, a listen address, TLS files, the store):
/// the message names the file, key or address and the reason, on one line. The command line prints it and exits with 2.
/// </summary>
internal sealed class StartupException : Exception
{
    public StartupException(string message)
        : base(message)
    {
    }

    public StartupException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Whether the web server's and host's own error lines are left out while the server starts (see <see cref="NanoRunHost.Build"/>).</summary>
internal sealed class StartupLog
{
    private volatile bool _quiet;

    public bool Quiet
    {
        get => _quiet;
        set => _quiet = value;
    }
}
