using NanoRun.Configuration;
using NanoRun.Scheduling;

namespace NanoRun.Units;

/// <summary>
/// Reads unit files (docs/configuration.md): one YAML file per unit under the config folder, validated completely so that a
/// bad file stops start-up with a message naming the file, the key and the reason.
/// </summary>
public static partial class UnitLoader
{
    /// <summary>Largest accepted <c>attempts</c>.</summary>
    internal const int MaxAttempts = UnitRules.MaxAttempts;

    /// <summary>Largest accepted <c>workers</c>.</summary>
    internal const int MaxWorkers = UnitRules.MaxWorkers;

    private static readonly ConfigErrorFactory UnitError =
        static (file, key, reason, line, column, inner) => new UnitConfigException(file, key, reason, line, column, inner);

    /// <summary>
    /// Loads every <c>*.yaml</c> and <c>*.yml</c> file under <paramref name="configDirectory"/> recursively, sorted by
    /// unit name; a missing folder gives an empty list. Hidden files and folders (names starting with a dot, such as
    /// the <c>..data</c> links of a Kubernetes volume) are skipped, and linked folders are not followed.
    /// </summary>
    /// <param name="configDirectory">The unit folder.</param>
    /// <exception cref="ConfigFileException">A file does not parse or validate; the message names the file, key and line.</exception>
    public static IReadOnlyList<UnitDefinition> LoadDirectory(string configDirectory)
    {
        var root = System.IO.Path.GetFullPath(configDirectory);
        if (!Directory.Exists(root))
        {
            return [];
        }

        var relativePaths = ListUnitFiles(root);

        // Routes match unit names without regard to case, so two names differing only in case collide.
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var units = new List<UnitDefinition>(relativePaths.Count);
        foreach (var relative in relativePaths)
        {
            var displayName = System.IO.Path.Combine(configDirectory, relative);
            var name = NameOf(relative);
            if (owners.TryGetValue(name, out var owner))
            {
                throw new UnitConfigException(displayName, null, $"unit name '{name}' is already taken by {owner}");
            }

            owners.Add(name, displayName);
            units.Add(LoadFile(System.IO.Path.Combine(root, relative), name, displayName));
        }

        units.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return units;
    }

    /// <summary>Loads one unit file under the given unit name; relative <c>workdir</c> and <c>content_file</c> resolve against the file's folder.</summary>
    internal static UnitDefinition LoadFile(string path, string name) => LoadFile(path, name, path);

    /// <summary>Parses unit YAML; <paramref name="fileName"/> only names the file in errors, and relative paths stay as written.</summary>
    internal static UnitDefinition Parse(string yamlText, string fileName, string name) => Parse(yamlText, fileName, name, null, null);

    /// <summary>The unit name for a path relative to the config folder: extension removed, folder separators as <c>-</c>.</summary>
    internal static string NameOf(string relativePath)
    {
        var extension = UnitExtension(relativePath) ?? System.IO.Path.GetExtension(relativePath);
        var withoutExtension = relativePath[..^extension.Length];
        return withoutExtension.Replace(System.IO.Path.DirectorySeparatorChar, '-').Replace(System.IO.Path.AltDirectorySeparatorChar, '-');
    }

    /// <summary>The unit files under the existing folder <paramref name="root"/>, as sorted relative paths.</summary>
    internal static List<string> ListUnitFiles(string root)
    {
        var relativePaths = new List<string>();
        CollectUnitFiles(root, root, relativePaths);
        relativePaths.Sort(StringComparer.Ordinal);
        return relativePaths;
    }

    // Symbolic links to files are read; symbolic links to folders are not followed, so a link cannot loop
    // or make one unit appear under two names.
    private static void CollectUnitFiles(string directory, string root, List<string> relativePaths)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = false,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
            IgnoreInaccessible = false,
        };
        foreach (var file in Directory.EnumerateFiles(directory, "*", options))
        {
            if (UnitExtension(file) is not null)
            {
                relativePaths.Add(System.IO.Path.GetRelativePath(root, file));
            }
        }

        foreach (var child in Directory.EnumerateDirectories(directory, "*", options))
        {
            if (new DirectoryInfo(child).LinkTarget is null)
            {
                CollectUnitFiles(child, root, relativePaths);
            }
        }
    }

    private static string? UnitExtension(string path)
    {
        if (path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase))
        {
            return path[^5..];
        }

        return path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) ? path[^4..] : null;
    }

    /// <summary>Loads one unit file; <paramref name="displayName"/> names it in errors.</summary>
    internal static UnitDefinition LoadFile(string path, string name, string displayName)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UnitConfigException(displayName, null, $"cannot be read: {ex.Message}", innerException: ex);
        }

        return Parse(text, displayName, name, System.IO.Path.GetDirectoryName(fullPath), fullPath);
    }

    private static UnitDefinition Parse(string yamlText, string fileName, string name, string? baseDirectory, string? sourceFile)
    {
        if (!UnitRules.IsValidName(name))
        {
            throw new UnitConfigException(fileName, null, $"unit name '{name}' (from the file's path) may hold only letters, digits, '.', '_' and '-'");
        }

        var root = YamlSection.Load(yamlText, fileName, UnitError);
        root.AllowOnly(UnitKeys.Names);

        var defaults = new UnitDefinition { Name = name };
        var mode = ReadMode(root);
        // Ranges are the model's rules (UnitRules), checked below for every unit however it was made; the loader only reads.
        var workers = WholeInt(root, "workers", defaults.Workers);
        if (workers == 0)
        {
            workers = System.Environment.ProcessorCount;
        }

        var interval = root.GetDuration("interval", allowZero: true) ?? defaults.Interval;
        var positions = new Dictionary<string, (int Line, int Column)>(StringComparer.Ordinal);
        foreach (var key in UnitKeys.Names)
        {
            if (root.Has(key))
            {
                positions[key] = root.PositionOf(key);
            }
        }

        var unit = new UnitDefinition
        {
            Name = name,
            SourceFile = sourceFile,
            SourceText = yamlText,
            Mode = mode,
            Command = ReadCommand(root, mode, defaults.Command),
            Shell = root.GetNonEmptyString("shell"),
            WorkDirectory = Resolve(root.GetNonEmptyString("workdir"), baseDirectory),
            Environment = ReadEnvironment(root),
            EnvironmentHeaders = ReadEnvironmentHeaders(root, mode),
            User = root.GetNonEmptyString("user"),
            Timeout = root.GetDuration("timeout", allowZero: false),
            GracefulTimeout = root.GetDuration("graceful_timeout", allowZero: false),
            Attempts = WholeInt(root, "attempts", defaults.Attempts),
            Interval = interval,
            Retry = RetryKeysReader.ReadRetry(root, interval),
            Rate = RetryKeysReader.ReadRate(root),
            Workers = workers,
            MaxRequest = root.GetWholeNumber("max_request", defaults.MaxRequest),
            MaxQueue = root.GetWholeNumber("max_queue", defaults.MaxQueue),
            MaxStderr = WholeInt(root, "max_stderr", defaults.MaxStderr),
            Retention = RetentionReader.Read(root.GetSection("retention"), null),
            Private = root.GetBool("private", defaults.Private),
            Authorization = ReadAuthorization(root.GetSection("authorization")),
            Cron = ReadCron(root, baseDirectory),
            Callback = ReadCallback(root.GetSection("callback")),
            AllowCallbackUrl = root.GetBool("allow_callback_url", false),
            KeyPositions = positions,
        };

        // The model's own rules; whether a runner serves the mode is checked when the unit is put in force.
        if (UnitRules.FindError(unit) is { } error)
        {
            throw unit.KeyError(error.Key, error.Reason, fileName);
        }

        return unit;
    }

    // Any mode name is read here; the engine refuses a unit whose mode has no registered runner, naming this key.
    private static string ReadMode(YamlSection root)
    {
        var text = root.GetString("mode")?.Trim().ToLowerInvariant();
        if (text is null)
        {
            return UnitModes.Bin;
        }

        if (text == UnitModes.Handler)
        {
            throw root.Error("mode", "handler mode runs a C# handler and is only for units defined in code with AddUnit(...).Handle(...)");
        }

        return UnitRules.IsValidModeName(text) ? text : throw root.Error("mode", $"must be a mode name such as bin, cgi or proxy, got '{text}'");
    }

    // A proxy unit's upstream URL is checked by the model's rules, which name this key and its line.
    private static string ReadCommand(YamlSection root, string mode, string fallback)
    {
        var command = root.GetString("command");
        if (command is not null && string.IsNullOrWhiteSpace(command))
        {
            throw root.Error("command", "must not be empty");
        }

        command ??= fallback;
        return mode == UnitModes.Proxy ? command.Trim() : command;
    }

    /// <summary>A whole number as an <see cref="int"/>; a value beyond its range is kept out of range, so the unit's rules refuse it.</summary>
    private static int WholeInt(YamlSection root, string key, int fallback) =>
        (int)Math.Clamp(root.GetWholeNumber(key, fallback), int.MinValue, int.MaxValue);

    private static IReadOnlyDictionary<string, string> ReadEnvironment(YamlSection root)
    {
        var environment = root.GetStringMap("environment");
        foreach (var name in environment.Keys)
        {
            if (name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
            {
                throw root.GetSection("environment")!.Error(name, "a variable name must not contain '=' or NUL");
            }
        }

        return environment;
    }

    // The names are checked against the block list here so that a unit cannot opt into LD_PRELOAD or PYTHONPATH;
    // the runner checks again, for units defined in code.
    private static List<string> ReadEnvironmentHeaders(YamlSection root, string mode)
    {
        const string key = "environment_headers";
        var names = root.GetStringList(key);
        if (names.Count == 0)
        {
            return [];
        }

        if (mode != UnitModes.Bin)
        {
            throw root.Error(key, mode switch
            {
                UnitModes.Cgi => "applies to bin mode only: cgi mode passes every header as an HTTP_* variable",
                UnitModes.Proxy => "applies to bin mode only: proxy mode forwards headers, it runs no command",
                _ => $"applies to bin mode only, not {mode} mode",
            });
        }

        var headers = new List<string>(names.Count);
        for (var i = 0; i < names.Count; i++)
        {
            var header = names[i].Trim();
            if (UnitRules.EnvironmentHeaderProblem(header) is { } problem)
            {
                throw root.ItemError(key, i, problem);
            }

            headers.Add(header);
        }

        return headers;
    }

    private static UnitAuthorization ReadAuthorization(YamlSection? section)
    {
        if (section is null)
        {
            return new UnitAuthorization();
        }

        section.AllowOnly("jwt", "query_token", "header_token", "basic", "hmac");
        return new UnitAuthorization
        {
            Jwt = ReadJwt(section.GetSection("jwt")),
            QueryToken = ReadToken(section.GetSection("query_token"), "param", "token", isHeader: false),
            HeaderToken = ReadToken(section.GetSection("header_token"), "header", "X-Api-Token", isHeader: true),
            Basic = ReadBasic(section.GetSection("basic")),
            Hmac = ReadHmac(section.GetSection("hmac")),
        };
    }

    private static JwtAuthorization? ReadJwt(YamlSection? section)
    {
        if (section is null)
        {
            return null;
        }

        section.AllowOnly("enable", "header", "secret", "require_exp");
        var enabled = section.GetBool("enable", false);
        var header = ReadHeaderName(section, "header") ?? "Authorization";
        var requireExp = section.GetBool("require_exp", true);
        var secret = section.GetString("secret");
        if (!enabled)
        {
            return null;
        }

        if (string.IsNullOrEmpty(secret))
        {
            throw section.Error("secret", "must be set when jwt is enabled");
        }

        return new JwtAuthorization { Header = header, Secret = secret, RequireExp = requireExp };
    }

    private static TokenAuthorization? ReadToken(YamlSection? section, string nameKey, string defaultName, bool isHeader)
    {
        if (section is null)
        {
            return null;
        }

        section.AllowOnly("enable", nameKey, "tokens");
        var enabled = section.GetBool("enable", false);
        var name = isHeader ? ReadHeaderName(section, nameKey) : section.GetString(nameKey)?.Trim();
        name = string.IsNullOrEmpty(name) ? defaultName : name;
        var tokens = section.GetStringList("tokens");
        if (!enabled)
        {
            return null;
        }

        if (tokens.Count == 0)
        {
            throw section.Error("tokens", "must list at least one token when enabled");
        }

        for (var i = 0; i < tokens.Count; i++)
        {
            // An empty token would let in any request that sends an empty value.
            if (string.IsNullOrEmpty(tokens[i]))
            {
                throw section.ItemError("tokens", i, "must not be empty");
            }
        }

        return new TokenAuthorization { Name = name, Tokens = tokens };
    }

    private static BasicAuthorization? ReadBasic(YamlSection? section)
    {
        if (section is null)
        {
            return null;
        }

        section.AllowOnly("enable", "users");
        var enabled = section.GetBool("enable", false);
        var users = section.GetStringMap("users");
        if (!enabled)
        {
            return null;
        }

        if (users.Count == 0)
        {
            throw section.Error("users", "must list at least one login with its bcrypt hash when basic is enabled");
        }

        var usersSection = section.GetSection("users")!;
        foreach (var (login, hash) in users)
        {
            if (login.Contains(':', StringComparison.Ordinal))
            {
                throw usersSection.Error(login, "login must not contain ':'");
            }

            if (!UnitRules.LooksLikeBcrypt(hash))
            {
                throw usersSection.Error(login, "must be a bcrypt hash starting with $2a$, $2b$ or $2y$");
            }
        }

        return new BasicAuthorization { Users = users };
    }

    private static List<CronEntry> ReadCron(YamlSection root, string? baseDirectory)
    {
        var sections = root.GetSectionList("cron");
        if (sections.Count == 0)
        {
            return [];
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<CronEntry>(sections.Count);
        foreach (var section in sections)
        {
            section.AllowOnly("spec", "name", "headers", "content", "content_file", "timezone");
            var spec = section.GetString("spec")?.Trim();
            if (string.IsNullOrEmpty(spec))
            {
                throw section.Error("spec", "must be set: a 5-field cron expression, a macro such as @daily, or @every DURATION");
            }

            var name = section.GetNonEmptyString("name");
            if (name is not null && !names.Add(name))
            {
                throw section.Error("name", $"'{name}' names another schedule of this unit too");
            }

            var headers = section.GetStringMap("headers");
            foreach (var header in headers.Keys)
            {
                if (!UnitRules.IsToken(header))
                {
                    throw section.GetSection("headers")!.Error(header, "is not a valid header name");
                }
            }

            var timeZone = section.GetNonEmptyString("timezone");
            if (timeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _))
            {
                throw section.Error("timezone", $"unknown time zone '{timeZone}'");
            }

            if (!CronSchedule.TryParse(spec, timeZone, out _, out var specError))
            {
                throw section.Error("spec", name is null ? specError : $"schedule '{name}': {specError}");
            }

            entries.Add(new CronEntry
            {
                Spec = spec,
                Name = name,
                Headers = headers,
                Content = section.GetString("content"),
                ContentFile = Resolve(section.GetNonEmptyString("content_file"), baseDirectory),
                TimeZone = timeZone,
            });
        }

        return entries;
    }

    // An empty header or parameter name means the default, as in the Go tool.
    private static string? ReadHeaderName(YamlSection section, string key)
    {
        var header = section.GetString(key)?.Trim();
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }

        if (!UnitRules.IsToken(header))
        {
            throw section.Error(key, $"'{header}' is not a valid header name");
        }

        return header;
    }

    private static string? Resolve(string? path, string? baseDirectory) =>
        path is null || baseDirectory is null || System.IO.Path.IsPathRooted(path)
            ? path
            : System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, path));
}
