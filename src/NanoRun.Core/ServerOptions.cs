namespace NanoRun;

/// <summary>Settings of a complete Nano-Run server, as read from <c>server.yaml</c>; directories are absolute once loaded.</summary>
public sealed class ServerOptions
{
    /// <summary>Folder for the embedded store's data; default <c>run</c> next to <c>server.yaml</c>.</summary>
    public string DataDirectory { get; set; } = "run";

    /// <summary>Folder of unit files; default <c>conf.d</c> next to <c>server.yaml</c>.</summary>
    public string ConfigDirectory { get; set; } = "conf.d";

    /// <summary>
    /// Whether <see cref="ConfigDirectory"/> is watched so that unit changes apply without a restart (<c>watch</c>); default
    /// <c>true</c>. SIGHUP reloads units either way; <c>server.yaml</c> itself is only read at start-up.
    /// </summary>
    public bool WatchConfigDirectory { get; set; } = true;

    /// <summary>Listen address as <c>host:port</c>; default <c>127.0.0.1:8989</c>.</summary>
    public string Bind { get; set; } = "127.0.0.1:8989";

    /// <summary>How long running attempts may finish after a shutdown signal before they are cancelled; default 5 seconds.</summary>
    public TimeSpan GracefulShutdown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Default wait of a synchronous (<c>PUT</c>) call; default 30 seconds.</summary>
    public TimeSpan WaitTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait a <c>PUT ?wait=</c> gets (<c>max_wait</c>); a longer one is cut to this. Default 10 minutes.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most connections open at once (<c>max_connections</c>); one past the limit is closed at once. Default 10 000.</summary>
    public long MaxConnections { get; set; } = 10_000;

    /// <summary>When <c>true</c> no UI routes are mapped at all; default <c>false</c>.</summary>
    public bool DisableUi { get; set; }

    /// <summary>Optional folder whose <c>static/</c> files override the UI's assets; default <c>ui</c> next to <c>server.yaml</c>.</summary>
    public string UiDirectory { get; set; } = "ui";

    /// <summary>HTTPS certificate and key; <c>null</c> (the default) serves plain HTTP.</summary>
    public TlsOptions? Tls { get; set; }

    /// <summary>UI login; <c>null</c> (the default) leaves the UI open.</summary>
    public UiAuthOptions? Auth { get; set; }

    /// <summary>Storage provider name, <c>sqlite</c> (the embedded default) or <c>postgresql</c>.</summary>
    public string StorageProvider { get; set; } = "sqlite";

    /// <summary>Provider-specific connection string; default none (the embedded store lives in <see cref="DataDirectory"/>).</summary>
    public string? StorageConnectionString { get; set; }

    /// <summary>Server-wide retention of finished requests; a unit's own <c>retention</c> wins. Default 7 days and 10 000 per unit and outcome.</summary>
    public Units.RetentionPolicy Retention { get; set; } = Units.RetentionPolicy.Default;

    /// <summary>Free bytes the data folder's file system must keep; below it new requests get 503. Default 64 MiB; 0 turns the guard off.</summary>
    public long MinFreeDisk { get; set; } = 64L * 1024 * 1024;

    /// <summary>Networks a caller's <c>X-Callback-Url</c> may reach although they are loopback, link-local or private (<c>callbacks.allow_networks</c>); default none.</summary>
    public IReadOnlyList<System.Net.IPNetwork> CallbackAllowNetworks { get; set; } = [];

    /// <summary>How long a node's claim on a request lasts without renewal (<c>storage.lease</c>); default 30 seconds.</summary>
    /// <remarks>A running node renews its leases every third of this; when a node dies, its requests run again on another
    /// node once their lease ends.</remarks>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The Prometheus scrape endpoint; on by default at <c>/metrics</c> on the main listener.</summary>
    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>Where the spans of requests are exported (<c>tracing</c>); default off.</summary>
    public TracingOptions Tracing { get; set; } = new();

    /// <summary>The name this node is listed under in <c>GET /api/nodes</c> and the UI's node page (<c>node_name</c>); default <c>null</c>, the host name and the bound port.</summary>
    public string? NodeName { get; set; }

    /// <summary>Log line format, <c>text</c> (plain console, the default) or <c>json</c> (one JSON object per line with scopes).</summary>
    public string LogFormat { get; set; } = "text";

    /// <summary>The settings used when no <c>server.yaml</c> exists: units in <c>run/conf.d</c> and data in <c>run/data</c> under <paramref name="baseDirectory"/>.</summary>
    public static ServerOptions CreateTransientDefault(string baseDirectory)
    {
        var root = Path.GetFullPath(baseDirectory);
        return new ServerOptions
        {
            DataDirectory = Path.Combine(root, "run", "data"),
            ConfigDirectory = Path.Combine(root, "run", "conf.d"),
            UiDirectory = Path.Combine(root, "ui"),
        };
    }
}

/// <summary>PEM certificate and private key for HTTPS.</summary>
public sealed class TlsOptions
{
    /// <summary>Path of the PEM certificate (chain).</summary>
    public required string CertFile { get; set; }

    /// <summary>Path of the PEM private key.</summary>
    public required string KeyFile { get; set; }
}

/// <summary>UI login through an OAuth2 provider, optionally limited to some logins.</summary>
public sealed class UiAuthOptions
{
    /// <summary>The OAuth2 authorization-code provider; its client id, secret and endpoints must be set.</summary>
    public OAuth2Options OAuth2 { get; set; } = new();

    /// <summary>Logins allowed into the UI; empty (the default) allows any logged-in user unless <see cref="Viewers"/> lists some.</summary>
    public IReadOnlyList<string> AllowedUsers { get; set; } = [];

    /// <summary>
    /// Logins allowed into the UI read-only: they see every page and change nothing (no submit, retry, cancel or replay).
    /// A login listed here must not be in <see cref="AllowedUsers"/>. When either list has entries, only the listed logins
    /// get in; default empty.
    /// </summary>
    public IReadOnlyList<string> Viewers { get; set; } = [];
}

/// <summary>An OAuth2 provider for the authorization-code flow.</summary>
public sealed class OAuth2Options
{
    /// <summary>Name shown on the login button; default <c>OAuth2</c>.</summary>
    public string Title { get; set; } = "OAuth2";

    /// <summary>Optional icon URL shown on the login button.</summary>
    public string? Icon { get; set; }

    /// <summary>Client id registered with the provider (<c>key</c> in YAML); required, default empty.</summary>
    public string ClientId { get; set; } = string.Empty;

    /// <summary>Client secret registered with the provider (<c>secret</c> in YAML); required, default empty.</summary>
    public string ClientSecret { get; set; } = string.Empty;

    /// <summary>The provider's authorization endpoint, an absolute http or https URL; required, default <c>null</c>.</summary>
    public Uri? AuthUrl { get; set; }

    /// <summary>The provider's token endpoint, an absolute http or https URL; required, default <c>null</c>.</summary>
    public Uri? TokenUrl { get; set; }

    /// <summary>Endpoint returning the logged-in user's profile as JSON, an absolute http or https URL; required, default <c>null</c>.</summary>
    public Uri? ProfileUrl { get; set; }

    /// <summary>Profile field holding the login; default <c>login</c>.</summary>
    public string LoginField { get; set; } = "login";

    /// <summary>Redirect URL registered with the provider; <c>null</c> derives it from the incoming request.</summary>
    public Uri? CallbackUrl { get; set; }

    /// <summary>Scopes requested; default none.</summary>
    public IReadOnlyList<string> Scopes { get; set; } = [];
}

/// <summary>The export of request spans over OTLP (<c>tracing</c> in <c>server.yaml</c>).</summary>
public sealed class TracingOptions
{
    /// <summary>
    /// Base URL of an OTLP/HTTP collector (<c>tracing.otlp_endpoint</c>), such as <c>http://127.0.0.1:4318</c>; spans go to
    /// <c>/v1/traces</c> under it as http/protobuf. Default <c>null</c>: no span is recorded or exported.
    /// </summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>The URL spans are posted to: <see cref="OtlpEndpoint"/> with <c>/v1/traces</c> appended unless its path already ends so.</summary>
    public Uri? TracesUrl => OtlpEndpoint is not { } endpoint ? null
        : endpoint.AbsolutePath.EndsWith("/v1/traces", StringComparison.Ordinal) ? endpoint
        : new Uri(endpoint.GetLeftPart(UriPartial.Authority) + endpoint.AbsolutePath.TrimEnd('/') + "/v1/traces");
}

/// <summary>The Prometheus scrape endpoint (<c>metrics</c> in <c>server.yaml</c>).</summary>
public sealed class MetricsOptions
{
    /// <summary>Whether <see cref="Path"/> is served; default <c>true</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Path of the scrape endpoint; default <c>/metrics</c>.</summary>
    public string Path { get; set; } = "/metrics";

    /// <summary>A separate <c>host:port</c> that alone serves the endpoint; empty (the default) serves it on the main listener.</summary>
    public string Bind { get; set; } = string.Empty;
}
