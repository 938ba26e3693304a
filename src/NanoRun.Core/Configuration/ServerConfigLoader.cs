using System.Globalization;

namespace NanoRun.Configuration;

/// <summary>
/// Reads <c>server.yaml</c> (docs/configuration.md) into <see cref="ServerOptions"/>; relative paths resolve against the file's
/// folder, and each error names the file, the key and the reason.
/// </summary>
/// <remarks>The complete server host reads its settings through <see cref="LoadFile"/>; library hosts use the options pattern instead.</remarks>
public static class ServerConfigLoader
{
    private static readonly ConfigErrorFactory ServerError =
        static (file, key, reason, line, column, inner) => new ServerConfigException(file, key, reason, line, column, inner);

    /// <summary>Loads and validates the file at <paramref name="path"/>; a missing, unreadable or invalid file throws a <see cref="ConfigFileException"/> naming the file and key.</summary>
    public static ServerOptions LoadFile(string path)
    {
        var fullPath = Path.GetFullPath(path);
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var reason = ex is FileNotFoundException or DirectoryNotFoundException ? "does not exist" : $"cannot be read: {ex.Message}";
            throw new ServerConfigException(path, null, reason, innerException: ex);
        }

        return Parse(text, path, Path.GetDirectoryName(fullPath)!);
    }

    /// <summary>Environment variable read for <c>storage.connection_string</c> when the file leaves it out.</summary>
    internal const string ConnectionStringVariable = "NANO_RUN_STORAGE_CONNECTION_STRING";

    /// <summary>Environment variable read for <c>node_name</c> when the file leaves it out, so that nodes sharing one file get their own names.</summary>
    internal const string NodeNameVariable = "NANO_RUN_NODE_NAME";

    /// <summary>Parses <c>server.yaml</c> text; <paramref name="fileName"/> names the file in errors and relative paths resolve against <paramref name="baseDirectory"/>.</summary>
    internal static ServerOptions Parse(string yamlText, string fileName, string baseDirectory) =>
        Parse(yamlText, fileName, baseDirectory, Environment.GetEnvironmentVariable);

    /// <summary>Parses <c>server.yaml</c> text, reading environment variables through <paramref name="environment"/>.</summary>
    internal static ServerOptions Parse(string yamlText, string fileName, string baseDirectory, Func<string, string?> environment)
    {
        var root = YamlSection.Load(yamlText, fileName, ServerError);
        root.AllowOnly(ServerConfigKeys.Root);

        var defaults = new ServerOptions();
        var storage = root.GetSection("storage");
        var (provider, connectionString) = ReadStorage(storage, environment);
        return new ServerOptions
        {
            DataDirectory = Resolve(root.GetNonEmptyString("working_directory") ?? defaults.DataDirectory, baseDirectory),
            ConfigDirectory = Resolve(root.GetNonEmptyString("config_directory") ?? defaults.ConfigDirectory, baseDirectory),
            WatchConfigDirectory = root.GetBool("watch", defaults.WatchConfigDirectory),
            Bind = ReadBind(root) ?? defaults.Bind,
            GracefulShutdown = root.GetDuration("graceful_shutdown", allowZero: true) ?? defaults.GracefulShutdown,
            WaitTime = root.GetDuration("wait_time", allowZero: false) ?? defaults.WaitTime,
            MaxWait = root.GetDuration("max_wait", allowZero: false) ?? defaults.MaxWait,
            MaxConnections = root.GetInteger("max_connections", defaults.MaxConnections, 1, long.MaxValue),
            DisableUi = root.GetBool("disable_ui", defaults.DisableUi),
            UiDirectory = Resolve(root.GetNonEmptyString("ui_directory") ?? defaults.UiDirectory, baseDirectory),
            Tls = ReadTls(root.GetSection("tls"), baseDirectory),
            Auth = ReadAuth(root.GetSection("auth")),
            StorageProvider = provider,
            StorageConnectionString = connectionString,
            Retention = RetentionReader.Read(root.GetSection("retention"), defaults.Retention)!,
            MinFreeDisk = root.GetInteger("min_free_disk", defaults.MinFreeDisk, 0, long.MaxValue),
            LeaseDuration = storage?.GetDuration("lease", allowZero: false) ?? defaults.LeaseDuration,
            Metrics = ReadMetrics(root.GetSection("metrics")),
            LogFormat = ReadLogFormat(root) ?? defaults.LogFormat,
            NodeName = root.GetNonEmptyString("node_name") ?? NullIfEmpty(environment(NodeNameVariable)),
            CallbackAllowNetworks = ReadAllowNetworks(root.GetSection("callbacks")),
            Tracing = ReadTracing(root.GetSection("tracing")),
        };
    }

    private static TracingOptions ReadTracing(YamlSection? section)
    {
        if (section is null)
        {
            return new TracingOptions();
        }

        section.AllowOnly(ServerConfigKeys.Tracing);
        var text = section.GetNonEmptyString("otlp_endpoint");
        if (text is null)
        {
            return new TracingOptions();
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)
            || endpoint.Query.Length > 0 || endpoint.Fragment.Length > 0)
        {
            throw section.Error("otlp_endpoint", $"must be an http:// or https:// URL of an OTLP/HTTP collector such as http://127.0.0.1:4318, got '{text}'");
        }

        return new TracingOptions { OtlpEndpoint = endpoint };
    }

    private static List<System.Net.IPNetwork> ReadAllowNetworks(YamlSection? section)
    {
        if (section is null)
        {
            return [];
        }

        section.AllowOnly(ServerConfigKeys.Callbacks);
        var texts = section.GetStringList("allow_networks");
        var networks = new List<System.Net.IPNetwork>(texts.Count);
        for (var i = 0; i < texts.Count; i++)
        {
            if (!System.Net.IPNetwork.TryParse(texts[i].Trim(), out var network))
            {
                throw section.ItemError("allow_networks", i, $"must be a network in CIDR notation such as 127.0.0.0/8 or fd00::/8, got '{texts[i]}'");
            }

            networks.Add(network);
        }

        return networks;
    }

    private static MetricsOptions ReadMetrics(YamlSection? section)
    {
        var defaults = new MetricsOptions();
        if (section is null)
        {
            return defaults;
        }

        section.AllowOnly(ServerConfigKeys.Metrics);
        var path = section.GetNonEmptyString("path") ?? defaults.Path;
        if (!path.StartsWith('/') || path.Contains('?', StringComparison.Ordinal) || path.Contains('#', StringComparison.Ordinal) || path.Contains(' ', StringComparison.Ordinal))
        {
            throw section.Error("path", $"must be an absolute URL path such as /metrics, got '{path}'");
        }

        if (path.Equals("/api", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/api/", StringComparison.OrdinalIgnoreCase))
        {
            throw section.Error("path", $"must not be under /api/, which belongs to the units, got '{path}'");
        }

        var bind = ReadBind(section) ?? defaults.Bind;
        if (bind.EndsWith(":0", StringComparison.Ordinal))
        {
            throw section.Error("bind", $"must name a fixed port so that scrapes can find it, got '{bind}'");
        }

        return new MetricsOptions
        {
            Enabled = section.GetBool("enabled", defaults.Enabled),
            Path = path,
            Bind = bind,
        };
    }

    /// <summary>Whether <paramref name="format"/> names a log format: <c>text</c> or <c>json</c>.</summary>
    internal static bool IsLogFormat(string format) => format is "text" or "json";

    private static string? ReadLogFormat(YamlSection root)
    {
        var format = root.GetNonEmptyString("log_format");
        if (format is not null && !IsLogFormat(format))
        {
            throw root.Error("log_format", $"must be text or json, got '{format}'");
        }

        return format;
    }

    private static string? ReadBind(YamlSection root)
    {
        var bind = root.GetNonEmptyString("bind");
        if (bind is null)
        {
            return null;
        }

        var colon = bind.LastIndexOf(':');
        var host = colon < 0 ? string.Empty : bind[..colon];
        var hostValid = host.Length == 0
            || (host.StartsWith('[') ? host.EndsWith(']') && host.Length > 2 : !host.Contains(':', StringComparison.Ordinal) && !host.Contains(' ', StringComparison.Ordinal));
        if (colon < 0 || !hostValid
            || !int.TryParse(bind.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw root.Error("bind", $"must be HOST:PORT such as 127.0.0.1:8989, 0.0.0.0:80, [::1]:8989 or :8989, got '{bind}'");
        }

        // The server listens on addresses, not names: a host name would only fail later, when the listener starts.
        var hostAddress = host.Trim('[', ']');
        if (hostAddress.Length > 0 && hostAddress != "*" && !hostAddress.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            && !System.Net.IPAddress.TryParse(hostAddress, out _))
        {
            throw root.Error("bind", $"the host must be an IP address, localhost, * or empty (every interface), not a name: got '{bind}'");
        }

        return bind;
    }

    private static TlsOptions? ReadTls(YamlSection? section, string baseDirectory)
    {
        if (section is null)
        {
            return null;
        }

        section.AllowOnly(ServerConfigKeys.Tls);
        var enabled = section.GetBool("enable", false);
        var cert = section.GetNonEmptyString("cert");
        var key = section.GetNonEmptyString("key");
        if (!enabled)
        {
            return null;
        }

        return new TlsOptions
        {
            CertFile = ExistingFile(section, "cert", cert, baseDirectory),
            KeyFile = ExistingFile(section, "key", key, baseDirectory),
        };
    }

    private static string ExistingFile(YamlSection section, string key, string? path, string baseDirectory)
    {
        if (path is null)
        {
            throw section.Error(key, "must be set when tls is enabled");
        }

        var fullPath = Resolve(path, baseDirectory);
        if (!File.Exists(fullPath))
        {
            throw section.Error(key, $"file not found: {fullPath}");
        }

        return fullPath;
    }

    private static UiAuthOptions? ReadAuth(YamlSection? section)
    {
        if (section is null)
        {
            return null;
        }

        section.AllowOnly(ServerConfigKeys.Auth);
        var users = section.GetStringList("users");
        var viewers = section.GetStringList("viewers");
        CheckLogins(section, "users", users);
        CheckLogins(section, "viewers", viewers);
        for (var i = 0; i < viewers.Count; i++)
        {
            if (users.Contains(viewers[i], StringComparer.OrdinalIgnoreCase))
            {
                throw section.ItemError("viewers", i, $"'{viewers[i]}' is also listed in auth.users; a login is either a user or a read-only viewer");
            }
        }

        var oauth2 = section.GetSection("oauth2");
        if (oauth2 is null)
        {
            if (users.Count > 0 || viewers.Count > 0)
            {
                throw section.Error(users.Count > 0 ? "users" : "viewers", "limits UI logins, so auth.oauth2 must be configured too");
            }

            return null;
        }

        oauth2.AllowOnly(ServerConfigKeys.OAuth2);
        return new UiAuthOptions
        {
            OAuth2 = new OAuth2Options
            {
                Title = oauth2.GetNonEmptyString("title") ?? "OAuth2",
                Icon = oauth2.GetNonEmptyString("icon"),
                ClientId = Required(oauth2, "key"),
                ClientSecret = Required(oauth2, "secret"),
                AuthUrl = RequiredUrl(oauth2, "auth_url"),
                TokenUrl = RequiredUrl(oauth2, "token_url"),
                ProfileUrl = RequiredUrl(oauth2, "profile_url"),
                LoginField = oauth2.GetNonEmptyString("login_field") ?? "login",
                CallbackUrl = oauth2.Has("callback_url") ? RequiredUrl(oauth2, "callback_url") : null,
                Scopes = oauth2.GetStringList("scopes"),
            },
            AllowedUsers = users,
            Viewers = viewers,
        };
    }

    private static void CheckLogins(YamlSection section, string key, IReadOnlyList<string> logins)
    {
        for (var i = 0; i < logins.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(logins[i]))
            {
                throw section.ItemError(key, i, "must not be empty");
            }
        }
    }

    private static (string Provider, string? ConnectionString) ReadStorage(YamlSection? section, Func<string, string?> environment)
    {
        if (section is null)
        {
            return ("sqlite", null);
        }

        section.AllowOnly(ServerConfigKeys.Storage);
        var text = section.GetNonEmptyString("provider");
        var provider = text?.ToUpperInvariant() switch
        {
            null or "SQLITE" or "EMBEDDED" => "sqlite",
            "POSTGRESQL" or "POSTGRES" => "postgresql",
            _ => throw section.Error("provider", $"must be sqlite (also called embedded) or postgresql, got '{text}'"),
        };
        // The variable keeps a password out of the file.
        var connectionString = section.GetNonEmptyString("connection_string")
            ?? NullIfEmpty(environment(ConnectionStringVariable));
        if (provider == "postgresql" && connectionString is null)
        {
            throw section.Error("connection_string", $"must be set for the postgresql provider (here or in the {ConnectionStringVariable} environment variable)");
        }

        return (provider, connectionString);
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    private static string Required(YamlSection section, string key) =>
        section.GetNonEmptyString(key) ?? throw section.Error(key, "must be set");

    private static Uri RequiredUrl(YamlSection section, string key)
    {
        var text = Required(section, key);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw section.Error(key, $"must be an absolute http or https URL, got '{text}'");
        }

        return uri;
    }

    private static string Resolve(string path, string baseDirectory) =>
        Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(baseDirectory, path));
}
