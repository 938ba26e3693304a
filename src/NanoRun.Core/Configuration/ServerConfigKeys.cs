namespace NanoRun.Configuration;

/// <summary>
/// Every key <c>server.yaml</c> accepts, by section: the loader allows exactly these, and the tests hold
/// <c>server init</c>'s file and docs/configuration.md to the same list.
/// </summary>
internal static class ServerConfigKeys
{
    public static readonly string[] Root =
    [
        "working_directory", "config_directory", "bind", "graceful_shutdown", "wait_time", "max_wait", "max_connections",
        "disable_ui", "ui_directory", "tls", "auth", "storage", "retention", "min_free_disk", "metrics", "log_format", "watch", "callbacks", "node_name",
        "tracing",
    ];

    public static readonly string[] Tls = ["enable", "cert", "key"];

    public static readonly string[] Auth = ["oauth2", "users", "viewers"];

    public static readonly string[] OAuth2 = ["title", "icon", "key", "secret", "auth_url", "token_url", "profile_url", "login_field", "callback_url", "scopes"];

    public static readonly string[] Storage = ["provider", "connection_string", "lease"];

    public static readonly string[] Retention = ["max_age", "max_count"];

    public static readonly string[] Metrics = ["enabled", "path", "bind"];

    public static readonly string[] Callbacks = ["allow_networks"];

    public static readonly string[] Tracing = ["otlp_endpoint"];

    /// <summary>Every key as a dotted path (<c>auth.oauth2.key</c>); a section is listed along with its keys.</summary>
    public static IEnumerable<string> All()
    {
        foreach (var key in Root)
        {
            yield return key;
        }

        foreach (var (section, keys) in new[] { ("tls", Tls), ("auth", Auth), ("storage", Storage), ("retention", Retention), ("metrics", Metrics), ("callbacks", Callbacks), ("tracing", Tracing) })
        {
            foreach (var key in keys)
            {
                yield return section + "." + key;
            }
        }

        foreach (var key in OAuth2)
        {
            yield return "auth.oauth2." + key;
        }
    }
}
