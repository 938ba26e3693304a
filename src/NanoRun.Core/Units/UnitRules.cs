using System.Globalization;
using NanoRun.Configuration;
using NanoRun.Runners;
using NanoRun.Scheduling;

namespace NanoRun.Units;

/// <summary>One broken rule of a unit: the dotted key path (such as <c>workers</c> or <c>cron[1].spec</c>) and the reason.</summary>
/// <param name="Key">The key path as in unit files.</param>
/// <param name="Reason">What is wrong.</param>
internal readonly record struct UnitKeyError(string Key, string Reason);

/// <summary>
/// The rules a <see cref="UnitDefinition"/> obeys whichever way it was made (unit file, <c>AddUnit</c>, <c>AddUnits</c>,
/// <c>nano-run run</c>); the first broken rule is reported with the key that breaks it.
/// </summary>
internal static class UnitRules
{
    /// <summary>Largest accepted <c>attempts</c>.</summary>
    public const int MaxAttempts = 1000;

    /// <summary>Largest accepted <c>workers</c>.</summary>
    public const int MaxWorkers = 1024;

    /// <summary>Largest accepted <c>max_stderr</c>: 16 MiB, because the kept tail is held in memory while the attempt runs.</summary>
    public const int MaxStderr = 16 * 1024 * 1024;

    private static readonly string[] BcryptPrefixes = ["$2a$", "$2b$", "$2y$"];

    /// <summary>The first broken rule of <paramref name="unit"/>, or <c>null</c> when it obeys them all.</summary>
    public static UnitKeyError? FindError(UnitDefinition unit) =>
        CheckName(unit) ?? CheckProcess(unit) ?? CheckRetry(unit) ?? CheckLimits(unit) ?? CheckAuthorization(unit.Authorization)
        ?? CheckCron(unit.Cron) ?? CheckCallback(unit.Callback);

    /// <summary>Whether <paramref name="name"/> is a unit name: letters, digits, <c>.</c>, <c>_</c> and <c>-</c>, not <c>.</c> or <c>..</c>.</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name is "." or "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="mode"/> is a mode name: ASCII letters, digits, <c>-</c> and <c>_</c>.</summary>
    public static bool IsValidModeName(string? mode)
    {
        if (string.IsNullOrEmpty(mode))
        {
            return false;
        }

        foreach (var c in mode)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="text"/> is an RFC 9110 token, the characters a header name may hold.</summary>
    public static bool IsToken(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && !"!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="url"/> is an absolute http or https URL with a host.</summary>
    public static bool IsHttpUrl(Uri? url) =>
        url is { IsAbsoluteUri: true } && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps) && !string.IsNullOrEmpty(url.Host);

    private static UnitKeyError? CheckName(UnitDefinition unit)
    {
        if (!IsValidName(unit.Name))
        {
            return new("name", $"unit name '{unit.Name}' may hold only letters, digits, '.', '_' and '-'");
        }

        if (!IsValidModeName(unit.Mode))
        {
            return new("mode", $"must be a mode name of letters, digits, '-' and '_', got '{unit.Mode}'");
        }

        var handlerMode = unit.Mode == UnitModes.Handler;
        if (handlerMode && unit.Handler is null)
        {
            return new("mode", "handler mode runs a C# handler and is only for units defined in code with AddUnit(...).Handle(...)");
        }

        if (!handlerMode && unit.Handler is not null)
        {
            return new("mode", $"a unit with a handler runs in handler mode, not '{unit.Mode}'");
        }

        return null;
    }

    private static UnitKeyError? CheckProcess(UnitDefinition unit)
    {
        if (unit.Mode != UnitModes.Handler && string.IsNullOrWhiteSpace(unit.Command))
        {
            return new("command", "must not be empty");
        }

        if (unit.Mode == UnitModes.Proxy
            && (!Uri.TryCreate(unit.Command.Trim(), UriKind.Absolute, out var upstream) || !IsHttpUrl(upstream)))
        {
            return new("command", $"must be an absolute http or https URL in proxy mode, got '{unit.Command}'");
        }

        if (unit.Shell is { } shell && string.IsNullOrWhiteSpace(shell))
        {
            return new("shell", "must not be empty");
        }

        if (unit.WorkDirectory is { } workDirectory && string.IsNullOrWhiteSpace(workDirectory))
        {
            return new("workdir", "must not be empty");
        }

        if (unit.User is { } user && string.IsNullOrWhiteSpace(user))
        {
            return new("user", "must not be empty");
        }

        if (unit.Environment is null)
        {
            return new("environment", "must not be null");
        }

        foreach (var name in unit.Environment.Keys)
        {
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
            {
                return new("environment." + name, "a variable name must not be empty nor contain '=' or NUL");
            }
        }

        return CheckEnvironmentHeaders(unit);
    }

    // The names are checked against the block list so that a unit cannot opt into LD_PRELOAD or PYTHONPATH;
    // the runner checks again.
    private static UnitKeyError? CheckEnvironmentHeaders(UnitDefinition unit)
    {
        const string key = "environment_headers";
        if (unit.EnvironmentHeaders is null)
        {
            return new(key, "must not be null");
        }

        if (unit.EnvironmentHeaders.Count == 0)
        {
            return null;
        }

        if (unit.Mode != UnitModes.Bin)
        {
            return new(key, unit.Mode == UnitModes.Cgi
                ? "applies to bin mode only: cgi mode passes every header as an HTTP_* variable"
                : $"applies to bin mode only, not {unit.Mode} mode");
        }

        for (var i = 0; i < unit.EnvironmentHeaders.Count; i++)
        {
            if (EnvironmentHeaderProblem(unit.EnvironmentHeaders[i]?.Trim() ?? string.Empty) is { } problem)
            {
                return new(Item(key, i), problem);
            }
        }

        return null;
    }

    /// <summary>What is wrong with <paramref name="header"/> (trimmed) as an item of <c>environment_headers</c>; <c>null</c> when nothing is.</summary>
    internal static string? EnvironmentHeaderProblem(string header)
    {
        var variable = HeaderVariables.VariableName(header);
        if (variable is null)
        {
            return $"'{header}' is not a header name of letters, digits, '-' and '_'";
        }

        return HeaderVariables.BlockReason(variable) is { } reason ? $"'{header}' would set {variable}, {reason}; a request may never set it" : null;
    }

    private static UnitKeyError? CheckRetry(UnitDefinition unit)
    {
        if (unit.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            return new("timeout", "must be longer than zero");
        }

        if (unit.GracefulTimeout is { } graceful && graceful <= TimeSpan.Zero)
        {
            return new("graceful_timeout", "must be longer than zero");
        }

        if (unit.Attempts is < 1 or > MaxAttempts)
        {
            return new("attempts", Range(1, MaxAttempts, unit.Attempts));
        }

        if (unit.Interval < TimeSpan.Zero)
        {
            return new("interval", "must not be negative");
        }

        var retry = unit.Retry;
        if (retry is null)
        {
            return new("backoff", "the retry policy must not be null");
        }

        if (!Enum.IsDefined(retry.Backoff))
        {
            return new("backoff", $"must be fixed or exponential, got '{retry.Backoff}'");
        }

        if (retry.MaxInterval is { } max && (max <= TimeSpan.Zero || max < unit.Interval))
        {
            return new("max_interval", $"must be longer than zero and not shorter than interval ({GoDuration.Format(unit.Interval)})");
        }

        if (!(retry.Jitter >= 0 && retry.Jitter <= 1))
        {
            return new("jitter", string.Create(CultureInfo.InvariantCulture, $"must be a fraction from 0 to 1, got {retry.Jitter}"));
        }

        if (retry.RetryOn is { } retryOn)
        {
            if (retryOn.Count == 0)
            {
                return new("retry_on", "must list at least one status code (such as 429) or class (such as 5xx)");
            }

            for (var i = 0; i < retryOn.Count; i++)
            {
                if (retryOn[i].First < 100 || retryOn[i].Last > 599 || retryOn[i].First > retryOn[i].Last)
                {
                    return new(Item("retry_on", i), $"must be a range of status codes within 100 to 599, got {retryOn[i].First}-{retryOn[i].Last}");
                }
            }
        }

        return null;
    }

    private static UnitKeyError? CheckLimits(UnitDefinition unit)
    {
        if (unit.Workers is < 0 or > MaxWorkers)
        {
            return new("workers", Range(0, MaxWorkers, unit.Workers) + " (0 = number of CPUs)");
        }

        if (unit.MaxRequest < 0)
        {
            return new("max_request", $"must not be negative, got {unit.MaxRequest}");
        }

        if (unit.MaxQueue < 0)
        {
            return new("max_queue", $"must not be negative, got {unit.MaxQueue}");
        }

        if (unit.MaxStderr is < 0 or > MaxStderr)
        {
            return new("max_stderr", Range(0, MaxStderr, unit.MaxStderr));
        }

        if (unit.Rate is { } rate)
        {
            if (!(rate.PerSecond >= RetryKeysReader.MinRate && rate.PerSecond <= RetryKeysReader.MaxRate))
            {
                return new("rate", string.Create(CultureInfo.InvariantCulture, $"must be a number of requests per second from {RetryKeysReader.MinRate} to {RetryKeysReader.MaxRate}, got {rate.PerSecond}"));
            }

            if (rate.Burst is < 1 or > RetryKeysReader.MaxRate)
            {
                return new("burst", Range(1, RetryKeysReader.MaxRate, rate.Burst));
            }
        }

        if (unit.Retention is { } retention)
        {
            if (retention.MaxAge is { } maxAge && maxAge <= TimeSpan.Zero)
            {
                return new("retention.max_age", "must be longer than zero");
            }

            if (retention.MaxCount is { } maxCount && maxCount is < 1 or > RetentionReader.MaxCount)
            {
                return new("retention.max_count", Range(1, RetentionReader.MaxCount, maxCount));
            }
        }

        return null;
    }

    private static UnitKeyError? CheckAuthorization(UnitAuthorization? authorization)
    {
        const string key = "authorization";
        if (authorization is null)
        {
            return new(key, "must not be null");
        }

        if (authorization.Jwt is { } jwt)
        {
            if (string.IsNullOrEmpty(jwt.Secret))
            {
                return new(key + ".jwt.secret", "must be set when jwt is enabled");
            }

            if (!IsToken(jwt.Header))
            {
                return new(key + ".jwt.header", $"'{jwt.Header}' is not a valid header name");
            }
        }

        return CheckToken(authorization.QueryToken, key + ".query_token", "param", isHeader: false)
            ?? CheckToken(authorization.HeaderToken, key + ".header_token", "header", isHeader: true)
            ?? CheckBasic(authorization.Basic, key + ".basic")
            ?? CheckHmac(authorization.Hmac, key + ".hmac");
    }

    private static UnitKeyError? CheckToken(TokenAuthorization? token, string key, string nameKey, bool isHeader)
    {
        if (token is null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(token.Name) || (isHeader && !IsToken(token.Name)))
        {
            return new(key + "." + nameKey, $"'{token.Name}' is not a valid name");
        }

        if (token.Tokens is null || token.Tokens.Count == 0)
        {
            return new(key + ".tokens", "must list at least one token when enabled");
        }

        for (var i = 0; i < token.Tokens.Count; i++)
        {
            // An empty token would let in any request that sends an empty value.
            if (string.IsNullOrEmpty(token.Tokens[i]))
            {
                return new(Item(key + ".tokens", i), "must not be empty");
            }
        }

        return null;
    }

    private static UnitKeyError? CheckBasic(BasicAuthorization? basic, string key)
    {
        if (basic is null)
        {
            return null;
        }

        if (basic.Users is null || basic.Users.Count == 0)
        {
            return new(key + ".users", "must list at least one login with its bcrypt hash when basic is enabled");
        }

        foreach (var (login, hash) in basic.Users)
        {
            if (login.Contains(':', StringComparison.Ordinal))
            {
                return new(key + ".users." + login, "login must not contain ':'");
            }

            if (!LooksLikeBcrypt(hash))
            {
                return new(key + ".users." + login, "must be a bcrypt hash starting with $2a$, $2b$ or $2y$");
            }
        }

        return null;
    }

    private static UnitKeyError? CheckHmac(HmacAuthorization? hmac, string key)
    {
        if (hmac is null)
        {
            return null;
        }

        if (string.IsNullOrEmpty(hmac.Secret))
        {
            return new(key + ".secret", "must be set when hmac is enabled");
        }

        if (!IsToken(hmac.Header))
        {
            return new(key + ".header", $"'{hmac.Header}' is not a valid header name");
        }

        if (!Enum.IsDefined(hmac.Algorithm))
        {
            return new(key + ".algorithm", $"must be one of sha1, sha256, sha512, got '{hmac.Algorithm}'");
        }

        if (!Enum.IsDefined(hmac.Format))
        {
            return new(key + ".format", $"must be plain or timestamped, got '{hmac.Format}'");
        }

        if (hmac.Prefix is null || (hmac.Format == HmacFormat.Timestamped && hmac.Prefix.Length > 0))
        {
            return new(key + ".prefix", "cannot be combined with format: timestamped");
        }

        return hmac.Tolerance <= TimeSpan.Zero ? new(key + ".tolerance", "must be longer than zero") : null;
    }

    private static UnitKeyError? CheckCron(IReadOnlyList<CronEntry>? entries)
    {
        if (entries is null)
        {
            return new("cron", "must not be null");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var key = Item("cron", i);
            if (string.IsNullOrWhiteSpace(entry.Spec))
            {
                return new(key + ".spec", "must be set: a 5-field cron expression, a macro such as @daily, or @every DURATION");
            }

            if (entry.Name is { } name && !names.Add(name))
            {
                return new(key + ".name", $"'{name}' names another schedule of this unit too");
            }

            foreach (var header in entry.Headers?.Keys ?? [])
            {
                if (!IsToken(header))
                {
                    return new(key + ".headers." + header, "is not a valid header name");
                }
            }

            if (entry.TimeZone is { } zone && !TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
            {
                return new(key + ".timezone", $"unknown time zone '{zone}'");
            }

            if (!CronSchedule.TryParse(entry.Spec.Trim(), entry.TimeZone, out _, out var error))
            {
                return new(key + ".spec", entry.Name is null ? error : $"schedule '{entry.Name}': {error}");
            }
        }

        return null;
    }

    private static UnitKeyError? CheckCallback(CallbackSettings? callback) =>
        callback?.Url is { } url && !IsHttpUrl(url)
            ? new("callback.url", $"must be an absolute http or https URL, got '{url}'")
            : null;

    /// <summary>Whether <paramref name="hash"/> looks like a bcrypt hash.</summary>
    public static bool LooksLikeBcrypt(string? hash)
    {
        foreach (var prefix in BcryptPrefixes)
        {
            if (hash is not null && hash.StartsWith(prefix, StringComparison.Ordinal) && hash.Length > prefix.Length)
            {
                return true;
            }
        }

        return false;
    }

    private static string Item(string key, int index) => string.Create(CultureInfo.InvariantCulture, $"{key}[{index}]");

    private static string Range(long min, long max, long value) => string.Create(CultureInfo.InvariantCulture, $"must be from {min} to {max}, got {value}");
}
