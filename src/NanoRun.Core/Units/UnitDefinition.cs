namespace NanoRun.Units;

/// <summary>The names of the built-in modes; a host adds more with <c>AddRunner</c>.</summary>
public static class UnitModes
{
    /// <summary>Runs <c>shell -c command</c>; body on stdin, stdout is the result.</summary>
    public const string Bin = "bin";

    /// <summary>Runs a CGI/1.1 script whose response headers become the attempt's status and headers.</summary>
    public const string Cgi = "cgi";

    /// <summary>Forwards the saved request to the upstream URL in <c>command</c>.</summary>
    public const string Proxy = "proxy";

    /// <summary>Runs a C# handler inside the host process; defined in code with <c>AddUnit</c>, never in a unit file.</summary>
    public const string Handler = "handler";
}

/// <summary>One endpoint: what runs for each request to <c>/api/{name}/</c> and how it is retried.</summary>
public sealed class UnitDefinition
{
    private string _mode = UnitModes.Bin;

    /// <summary>The unit name, the file's path under the config folder without extension, separators as <c>-</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The file the unit was loaded from, or <c>null</c> for a unit defined in code.</summary>
    public string? SourceFile { get; init; }

    /// <summary>The YAML text the unit was parsed from; a reload keeps the unit as it is while this is unchanged.</summary>
    internal string? SourceText { get; init; }

    /// <summary>Shell command (bin, cgi) or upstream URL (proxy); default <c>echo hello world</c>.</summary>
    public string Command { get; init; } = "echo hello world";

    /// <summary>
    /// The name of the mode that runs each attempt, in lower case (a name is matched without regard to case): one of
    /// <see cref="UnitModes"/> or a mode the host added with <c>AddRunner</c>; default <see cref="UnitModes.Bin"/>.
    /// </summary>
    public string Mode
    {
        get => _mode;
        init => _mode = value?.Trim().ToLowerInvariant()!;
    }

    /// <summary>
    /// Shell that runs <see cref="Command"/> as <c>shell -c command</c>; default <c>null</c>: <c>/bin/sh</c>, except that a
    /// command without shell syntax (no quotes, redirections, variables, globs and the like) runs directly, split into words.
    /// </summary>
    public string? Shell { get; init; }

    /// <summary>Working directory; when <c>null</c> each attempt gets a fresh temporary folder, removed afterwards.</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>Extra environment variables on top of the server's own; default none.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Request headers passed to a bin-mode command as variables besides <c>X-…</c>, <c>Content-Type</c>,
    /// <c>Content-Length</c>, <c>Accept</c> and <c>User-Agent</c>, which always are; default none. A name that would
    /// set a blocked variable (such as <c>LD_PRELOAD</c> or <c>PYTHONPATH</c>) is refused when the unit is loaded and
    /// never passed.
    /// </summary>
    public IReadOnlyList<string> EnvironmentHeaders { get; init; } = [];

    /// <summary>OS user that owns the process (Linux, needs root); default none.</summary>
    public string? User { get; init; }

    /// <summary>After this the whole process group is killed; default none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>After this the process group gets SIGINT, then <see cref="Timeout"/> still applies; default none.</summary>
    public TimeSpan? GracefulTimeout { get; init; }

    /// <summary>Maximum attempts for one request, exact; default 3.</summary>
    public int Attempts { get; init; } = 3;

    /// <summary>Pause between attempts; default 5 seconds.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Backoff, jitter, which statuses are retried and whether <c>Retry-After</c> is honoured; default <see cref="RetryPolicy.Default"/>.</summary>
    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>Attempts of this unit running at once; default 1 (a configured 0 becomes the CPU count).</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Largest request body in bytes; default 1 MiB; 0 means unlimited.</summary>
    public long MaxRequest { get; init; } = 1024 * 1024;

    /// <summary>Most requests waiting (queued or retrying) before new ones are refused with 503; default 0, unlimited.</summary>
    public long MaxQueue { get; init; }

    /// <summary>How many of the last bytes an attempt writes to stderr are kept with the attempt; default 64 KiB; 0 keeps none.</summary>
    public int MaxStderr { get; init; } = DefaultMaxStderr;

    /// <summary>The default of <see cref="MaxStderr"/>: 64 KiB.</summary>
    public const int DefaultMaxStderr = 64 * 1024;

    /// <summary>Most new requests accepted over the API per second on this node, or <c>null</c> for no limit (the default).</summary>
    public UnitRateLimit? Rate { get; init; }

    /// <summary>How long and how many finished requests are kept; <c>null</c> means the server-wide policy.</summary>
    public RetentionPolicy? Retention { get; init; }

    /// <summary>When <c>true</c> the unit is not exposed over the API (schedule-only); default <c>false</c>.</summary>
    public bool Private { get; init; }

    /// <summary>Per-unit API authorization; default none (open).</summary>
    public UnitAuthorization Authorization { get; init; } = new();

    /// <summary>Schedules that queue requests for this unit; default none.</summary>
    public IReadOnlyList<CronEntry> Cron { get; init; } = [];

    /// <summary>The in-process handler of a <see cref="UnitModes.Handler"/> unit, set by <c>AddUnit</c>.</summary>
    internal Func<Jobs.JobContext, CancellationToken, Task>? Handler { get; init; }

    /// <summary>Where the final outcome of each request is posted; default none.</summary>
    public CallbackSettings? Callback { get; init; }

    /// <summary>Whether a request may name its own callback URL in <c>X-Callback-Url</c>; default <c>false</c> (the header is refused with 400).</summary>
    public bool AllowCallbackUrl { get; init; }

    /// <summary>Where each top-level key stands in <see cref="SourceFile"/> (line, column), for errors; <c>null</c> for a unit defined in code.</summary>
    internal IReadOnlyDictionary<string, (int Line, int Column)>? KeyPositions { get; init; }

    /// <summary>
    /// Checks every setting against the rules a unit file is held to (ranges, URLs, header names, schedules, …) and
    /// throws at the first broken one; the engine calls it at start for every unit however it was made.
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is invalid; the message names the unit (or its file) and the key, such as <c>key 'workers'</c>.</exception>
    public void Validate()
    {
        if (UnitRules.FindError(this) is { } error)
        {
            throw KeyError(error.Key, error.Reason);
        }
    }

    /// <summary>
    /// The request headers that reach the unit's command, described for people one line each (as the UI's unit page
    /// shows them): in <c>bin</c> mode the <c>X-</c> headers, a fixed few and <see cref="EnvironmentHeaders"/>; in
    /// <c>cgi</c> mode every header but <c>Proxy</c>; none in other modes.
    /// </summary>
    public IReadOnlyList<string> DescribeCommandHeaders() => Runners.HeaderVariables.Describe(this);

    /// <summary>An error about <paramref name="key"/> naming the unit's file (or the unit) and the key's line when known.</summary>
    internal UnitConfigException KeyError(string key, string reason, string? fileName = null)
    {
        var end = key.AsSpan().IndexOfAny('.', '[');
        var top = end < 0 ? key : key[..end];
        var (line, column) = KeyPositions is { } positions && positions.TryGetValue(top, out var at) ? at : (0, 0);
        return new UnitConfigException(fileName ?? SourceFile ?? $"unit '{Name}'", key, reason, line, column);
    }
}

/// <summary>A token bucket over new API requests of one unit on one node; a request over the limit is answered 429 and nothing is stored.</summary>
public sealed class UnitRateLimit
{
    /// <summary>Requests per second added to the bucket on average; may be a fraction such as 0.5.</summary>
    public required double PerSecond { get; init; }

    /// <summary>Most requests accepted at once after a quiet period (the bucket size); at least 1.</summary>
    public required int Burst { get; init; }
}

/// <summary>Which finished requests are kept; unfinished ones are never removed.</summary>
public sealed class RetentionPolicy
{
    /// <summary>The server-wide default: 7 days and 10 000 requests per unit and outcome.</summary>
    public static RetentionPolicy Default { get; } = new() { MaxAge = TimeSpan.FromDays(7), MaxCount = 10_000 };

    /// <summary>Finished requests older than this (by completion time) are removed; <c>null</c> keeps them regardless of age.</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>At most this many finished requests are kept per unit and outcome, newest first; <c>null</c> keeps any number.</summary>
    public int? MaxCount { get; init; }
}

/// <summary>Per-unit API authorization. Any enabled method that accepts lets a request through; none enabled means open.</summary>
public sealed class UnitAuthorization
{
    /// <summary>HS256 JWT check.</summary>
    public JwtAuthorization? Jwt { get; init; }

    /// <summary>Token in a query parameter.</summary>
    public TokenAuthorization? QueryToken { get; init; }

    /// <summary>Token in a request header.</summary>
    public TokenAuthorization? HeaderToken { get; init; }

    /// <summary>HTTP Basic with bcrypt hashes.</summary>
    public BasicAuthorization? Basic { get; init; }

    /// <summary>An HMAC signature of the raw body in a header (signed webhooks).</summary>
    public HmacAuthorization? Hmac { get; init; }

    /// <summary>Whether any method is enabled.</summary>
    public bool IsEnabled => Jwt is not null || QueryToken is not null || HeaderToken is not null || Basic is not null || Hmac is not null;
}

/// <summary>HS256 JWT authorization settings.</summary>
public sealed class JwtAuthorization
{
    /// <summary>Header that carries the token; default <c>Authorization</c>.</summary>
    public string Header { get; init; } = "Authorization";

    /// <summary>The HMAC secret.</summary>
    public required string Secret { get; init; }

    /// <summary>
    /// Whether a token must carry <c>exp</c> (<c>require_exp</c>); default <c>true</c>. Units written for the Go tool that
    /// hand out tokens without <c>exp</c> set it to <c>false</c>, accepting that such a token is valid forever.
    /// </summary>
    public bool RequireExp { get; init; } = true;
}

/// <summary>Static token authorization, by query parameter or header.</summary>
public sealed class TokenAuthorization
{
    /// <summary>Query parameter (default <c>token</c>) or header (default <c>X-Api-Token</c>) name.</summary>
    public required string Name { get; init; }

    /// <summary>Accepted tokens.</summary>
    public required IReadOnlyList<string> Tokens { get; init; }
}

/// <summary>HTTP Basic authorization settings.</summary>
public sealed class BasicAuthorization
{
    /// <summary>Login to bcrypt hash.</summary>
    public required IReadOnlyDictionary<string, string> Users { get; init; }
}

/// <summary>One schedule entry of a unit: at each tick a <c>POST</c> request with URI <c>/api/{unit}/?cron={name or index}</c> is queued.</summary>
public sealed class CronEntry
{
    /// <summary>
    /// 5-field cron expression (6 with seconds first), a macro (<c>@yearly</c>, <c>@annually</c>, <c>@monthly</c>,
    /// <c>@weekly</c>, <c>@daily</c>, <c>@midnight</c>, <c>@hourly</c>) or <c>@every DURATION</c> (at least 1 second,
    /// ticking on whole periods since the Unix epoch).
    /// </summary>
    public required string Spec { get; init; }

    /// <summary>Optional entry name; default the entry's index.</summary>
    public string? Name { get; init; }

    /// <summary>Headers of each queued request.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Body of each queued request; wins over <see cref="ContentFile"/>.</summary>
    public string? Content { get; init; }

    /// <summary>File whose contents become the body of each queued request.</summary>
    public string? ContentFile { get; init; }

    /// <summary>IANA time zone for cron expressions and macros (not <c>@every</c>); default UTC.</summary>
    public string? TimeZone { get; init; }
}
