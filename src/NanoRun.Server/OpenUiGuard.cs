using System.Net;
using NanoRun.Units;

namespace NanoRun.Server;

/// <summary>
/// Keeps an open UI (no <c>auth</c> section) from serving units that have their own authorization to the network:
/// anyone who reaches such a UI could submit to those units and read their requests without a credential.
/// </summary>
internal static class OpenUiGuard
{
    /// <summary>Whether the UI is on, has no login, and listens beyond this machine.</summary>
    public static bool IsOpenToNetwork(ServerOptions options) =>
        !options.DisableUi && options.Auth is null && !IsLoopback(options.Bind);

    /// <summary>
    /// The start-up error when <see cref="IsOpenToNetwork"/> and a unit has <c>authorization</c>; <c>null</c> when the
    /// server may start. Units that gain authorization later, through a reload, are hidden from such a UI instead.
    /// </summary>
    /// <param name="options">The server settings.</param>
    /// <param name="units">The units to serve at start.</param>
    /// <param name="origin">Where the settings came from, named at the start of the error: the configuration file given
    /// with <c>-c</c> (or found as <c>./server.yaml</c>), or the command line.</param>
    public static string? Refusal(ServerOptions options, IReadOnlyList<UnitDefinition> units, string origin)
    {
        if (!IsOpenToNetwork(options))
        {
            return null;
        }

        var guarded = units.Where(static u => u.Authorization.IsEnabled).Select(static u => u.Name).Order(StringComparer.Ordinal).ToList();
        if (guarded.Count == 0)
        {
            return null;
        }

        return $"{origin}: the UI has no login (no auth section) and bind {options.Bind} is not a loopback address, "
            + $"so it would open units with authorization ({string.Join(", ", guarded)}) to anyone; "
            + "add an auth section, set disable_ui: true, or bind to 127.0.0.1";
    }

    /// <summary>Whether <c>host:port</c> listens on loopback only: <c>localhost</c>, <c>127.0.0.0/8</c> or <c>[::1]</c>.</summary>
    public static bool IsLoopback(string bind)
    {
        var colon = bind.LastIndexOf(':');
        var host = (colon < 0 ? bind : bind[..colon]).Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address);
    }
}
