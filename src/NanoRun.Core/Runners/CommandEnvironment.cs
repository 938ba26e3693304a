using System.Collections;
using NanoRun.Configuration;

namespace NanoRun.Runners;

/// <summary>
/// The environment every command of a unit starts from: the server's own, without the variables that hold the server's
/// secrets and settings. Each mode then layers request headers, its own variables and the unit's <c>environment</c> on
/// top; the unit's <c>environment</c> may set a removed name again, because whoever runs the server wrote it.
/// </summary>
/// <remarks>
/// <para>
/// Removed (<see cref="IsServerOnly"/>):
/// <list type="bullet">
/// <item><c>NANO_RUN_*</c>, the server's and the command line's own settings: the connection string
/// (<c>NANO_RUN_STORAGE_CONNECTION_STRING</c>), the client's credential (<c>NANO_RUN_TOKEN</c>), the configuration
/// file, the data folder and the flags of <c>nano-run run</c>; except <c>NANO_RUN_NODE_NAME</c>, the node's name,
/// which is no secret and tells a command where it runs.</item>
/// <item><c>PGPASSWORD</c>, which the PostgreSQL driver reads as the database password when the connection string
/// names none.</item>
/// <item><c>OTEL_EXPORTER_OTLP_HEADERS</c> and the per-signal <c>OTEL_EXPORTER_OTLP_…_HEADERS</c>, which the trace
/// exporter sends to the collector and which carry its credentials.</item>
/// </list>
/// </para>
/// <para>
/// Everything else stays: <c>PATH</c>, <c>HOME</c>, locale, and every variable an operator gives the server for its
/// commands. A variable that only names a file (<c>PGPASSFILE</c>, systemd's <c>CREDENTIALS_DIRECTORY</c>) stays too:
/// the server reads no secret from it, and hiding a path protects nothing that the file's permissions do not; run
/// commands as another <c>user</c> to keep them away from the server's files. OAuth client secrets, JWT secrets and
/// tokens come from <c>server.yaml</c> and unit files, never from the environment.
/// </para>
/// </remarks>
internal static class CommandEnvironment
{
    /// <summary>The prefix of the server's own variables.</summary>
    public const string ServerPrefix = "NANO_RUN_";

    private const string OtlpPrefix = "OTEL_EXPORTER_OTLP_";
    private const string OtlpHeadersSuffix = "HEADERS";
    private const string PostgreSqlPassword = "PGPASSWORD";

    /// <summary>A copy of the server's environment without the names <see cref="IsServerOnly"/> removes.</summary>
    public static Dictionary<string, string?> FromServer()
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (!IsServerOnly(name))
            {
                environment[name] = (string?)entry.Value;
            }
        }

        return environment;
    }

    /// <summary>
    /// Whether <paramref name="name"/> holds a secret or setting of the server that a command does not inherit and a
    /// request header never sets: <c>NANO_RUN_*</c> except <c>NANO_RUN_NODE_NAME</c>, <c>PGPASSWORD</c> and the OTLP
    /// exporter's <c>…HEADERS</c>.
    /// </summary>
    public static bool IsServerOnly(string name)
    {
        if (name.StartsWith(ServerPrefix, StringComparison.Ordinal))
        {
            return !name.Equals(ServerConfigLoader.NodeNameVariable, StringComparison.Ordinal);
        }

        return name.Equals(PostgreSqlPassword, StringComparison.Ordinal)
            || (name.StartsWith(OtlpPrefix, StringComparison.Ordinal) && name.EndsWith(OtlpHeadersSuffix, StringComparison.Ordinal));
    }
}
