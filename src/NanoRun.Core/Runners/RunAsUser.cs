using NanoRun.Units;

namespace NanoRun.Runners;

/// <summary>Start-up check of the units that run their processes as another OS user (<c>user</c>).</summary>
internal static class RunAsUser
{
    /// <summary>Throws for the first bin or cgi unit whose <c>user</c> does not exist or cannot be switched to because the server is not root.</summary>
    /// <exception cref="UnitConfigException">Names the unit's file, the <c>user</c> key and the reason.</exception>
    public static void Validate(IEnumerable<UnitDefinition> units)
    {
        foreach (var unit in units)
        {
            if (unit.User is not { } user || unit.Mode == UnitModes.Proxy)
            {
                continue;
            }

            var file = unit.SourceFile ?? "unit " + unit.Name;
            if (!UnixUser.TryFind(user, out _, out _))
            {
                throw new UnitConfigException(file, "user", $"no such OS user '{user}'");
            }

            if (!UnixUser.IsRoot)
            {
                throw new UnitConfigException(file, "user", $"running as user '{user}' needs the server to run as root");
            }
        }
    }
}
