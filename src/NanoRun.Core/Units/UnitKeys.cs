using System.Collections.Frozen;

namespace NanoRun.Units;

/// <summary>A top-level key of a unit file and the <see cref="UnitDefinition"/> property it sets.</summary>
/// <param name="Key">The key as written in unit files.</param>
/// <param name="Property">The name of the property of <see cref="UnitDefinition"/> (and <see cref="UnitBuilder"/>) it sets.</param>
internal sealed record UnitKey(string Key, string Property);

/// <summary>
/// The one table of unit keys: the loader accepts exactly these, docs/configuration.md documents exactly these, and
/// every settable property of <see cref="UnitDefinition"/> but <c>Name</c> and <c>SourceFile</c> is set by one of them.
/// </summary>
internal static class UnitKeys
{
    public static readonly IReadOnlyList<UnitKey> All =
    [
        new("command", nameof(UnitDefinition.Command)),
        new("mode", nameof(UnitDefinition.Mode)),
        new("shell", nameof(UnitDefinition.Shell)),
        new("workdir", nameof(UnitDefinition.WorkDirectory)),
        new("environment", nameof(UnitDefinition.Environment)),
        new("environment_headers", nameof(UnitDefinition.EnvironmentHeaders)),
        new("user", nameof(UnitDefinition.User)),
        new("timeout", nameof(UnitDefinition.Timeout)),
        new("graceful_timeout", nameof(UnitDefinition.GracefulTimeout)),
        new("attempts", nameof(UnitDefinition.Attempts)),
        new("interval", nameof(UnitDefinition.Interval)),
        new("backoff", nameof(UnitDefinition.Retry)),
        new("max_interval", nameof(UnitDefinition.Retry)),
        new("jitter", nameof(UnitDefinition.Retry)),
        new("retry_on", nameof(UnitDefinition.Retry)),
        new("retry_after", nameof(UnitDefinition.Retry)),
        new("workers", nameof(UnitDefinition.Workers)),
        new("max_request", nameof(UnitDefinition.MaxRequest)),
        new("max_queue", nameof(UnitDefinition.MaxQueue)),
        new("max_stderr", nameof(UnitDefinition.MaxStderr)),
        new("rate", nameof(UnitDefinition.Rate)),
        new("burst", nameof(UnitDefinition.Rate)),
        new("retention", nameof(UnitDefinition.Retention)),
        new("private", nameof(UnitDefinition.Private)),
        new("authorization", nameof(UnitDefinition.Authorization)),
        new("cron", nameof(UnitDefinition.Cron)),
        new("callback", nameof(UnitDefinition.Callback)),
        new("allow_callback_url", nameof(UnitDefinition.AllowCallbackUrl)),
    ];

    /// <summary>The key names, in table order.</summary>
    public static readonly string[] Names = [.. All.Select(static k => k.Key)];

    /// <summary>The key names as a set.</summary>
    public static readonly FrozenSet<string> NameSet = Names.ToFrozenSet(StringComparer.Ordinal);
}
