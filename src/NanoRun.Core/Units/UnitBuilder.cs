using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NanoRun.Jobs;

namespace NanoRun.Units;

/// <summary>Defines a unit in code for <c>AddUnit</c>: its handler and the same settings a unit file has.</summary>
public sealed class UnitBuilder
{
    private readonly IServiceCollection _services;
    private Func<JobContext, CancellationToken, Task>? _handler;

    internal UnitBuilder(string name, IServiceCollection services)
    {
        Name = name;
        _services = services;
    }

    /// <summary>The unit name; its API is <c>/api/{name}/</c>.</summary>
    public string Name { get; }

    /// <summary>
    /// The mode that runs each attempt; default <see cref="UnitModes.Handler"/>, which needs a handler from
    /// <c>Handle(...)</c>. Set a built-in mode such as <see cref="UnitModes.Bin"/> (with <see cref="Command"/>) or a mode
    /// the host added with <c>AddRunner</c> to define a unit without a handler.
    /// </summary>
    public string Mode { get; set; } = UnitModes.Handler;

    /// <summary>Shell command (bin, cgi) or upstream URL (proxy); default <c>echo hello world</c>, unused in handler mode.</summary>
    public string Command { get; set; } = "echo hello world";

    /// <summary>
    /// Shell that runs <see cref="Command"/> as <c>shell -c command</c>; default <c>null</c>: <c>/bin/sh</c>, except that a
    /// command without shell syntax (no quotes, redirections, variables, globs and the like) runs directly, split into words.
    /// </summary>
    public string? Shell { get; set; }

    /// <summary>Working directory of bin and cgi processes; <c>null</c> (default) gives each attempt a fresh temporary folder.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>Extra environment variables of bin and cgi processes on top of the server's own; default none.</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Request headers passed to a bin-mode command as variables besides the ones always passed; default none.</summary>
    public IList<string> EnvironmentHeaders { get; } = [];

    /// <summary>OS user that owns bin and cgi processes (Linux, needs root); default none.</summary>
    public string? User { get; set; }

    /// <summary>After this an attempt is aborted and fails (502): the process group is killed, a handler's token fires; default none.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>After this the process group of a bin or cgi attempt gets SIGINT, then <see cref="Timeout"/> still applies; default none.</summary>
    public TimeSpan? GracefulTimeout { get; set; }

    /// <summary>Maximum attempts for one request, exact, 1 to 1000; default 3.</summary>
    public int Attempts { get; set; } = 3;

    /// <summary>Pause between attempts; default 5 seconds.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Backoff, jitter, which statuses are retried and whether <c>Retry-After</c> is honoured; default <see cref="RetryPolicy.Default"/>.</summary>
    public RetryPolicy Retry { get; set; } = RetryPolicy.Default;

    /// <summary>Attempts of this unit running at once, 0 to 1024; default 1; 0 means the CPU count.</summary>
    public int Workers { get; set; } = 1;

    /// <summary>Largest request body in bytes; default 1 MiB; 0 means unlimited.</summary>
    public long MaxRequest { get; set; } = 1024 * 1024;

    /// <summary>Most requests waiting before new ones are refused with 503; default 0, unlimited.</summary>
    public long MaxQueue { get; set; }

    /// <summary>How many of the last bytes an attempt writes to stderr are kept, 0 to 16 MiB; default 64 KiB; 0 keeps none.</summary>
    public int MaxStderr { get; set; } = UnitDefinition.DefaultMaxStderr;

    /// <summary>Most new requests accepted per second on this node, or <c>null</c> (default) for no limit.</summary>
    public UnitRateLimit? Rate { get; set; }

    /// <summary>Which finished requests are kept; <c>null</c> (default) means the server-wide policy.</summary>
    public RetentionPolicy? Retention { get; set; }

    /// <summary>When <c>true</c> the unit is not exposed over the API (schedule-only); default <c>false</c>.</summary>
    public bool Private { get; set; }

    /// <summary>Per-unit API authorization; default none (open).</summary>
    public UnitAuthorization Authorization { get; set; } = new();

    /// <summary>Schedules that queue requests for this unit; default none.</summary>
    public IList<CronEntry> Cron { get; } = [];

    /// <summary>Where the final outcome of each request is posted; default none.</summary>
    public CallbackSettings? Callback { get; set; }

    /// <summary>Whether a request may name its own callback URL in <c>X-Callback-Url</c>; default <c>false</c>.</summary>
    public bool AllowCallbackUrl { get; set; }

    /// <summary>Processes each attempt with <paramref name="handler"/>; <see cref="JobContext.Services"/> is a fresh scope per attempt.</summary>
    public UnitBuilder Handle(Func<JobContext, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
        return this;
    }

    /// <summary>Processes each attempt with a <typeparamref name="THandler"/> resolved from a fresh DI scope (registered as scoped unless the host registered it).</summary>
    public UnitBuilder Handle<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>()
        where THandler : class, IJobHandler
    {
        _services.TryAddScoped<THandler>();
        _handler = static (job, cancellationToken) => job.Services.GetRequiredService<THandler>().HandleAsync(job, cancellationToken);
        return this;
    }

    /// <summary>The definition these settings describe, checked by <see cref="UnitDefinition.Validate"/>.</summary>
    internal UnitDefinition Build()
    {
        var mode = Mode;
        if (_handler is null && string.Equals(mode.Trim(), UnitModes.Handler, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"unit {Name}: call Handle(...) to give it a handler");
        }

        var unit = new UnitDefinition
        {
            Name = Name,
            Mode = mode,
            Command = _handler is null ? Command : string.Empty,
            Shell = Shell,
            WorkDirectory = WorkDirectory,
            Environment = new Dictionary<string, string>(Environment, StringComparer.Ordinal),
            EnvironmentHeaders = [.. EnvironmentHeaders],
            User = User,
            Timeout = Timeout,
            GracefulTimeout = GracefulTimeout,
            Attempts = Attempts,
            Interval = Interval,
            Retry = Retry,
            Workers = Workers,
            MaxRequest = MaxRequest,
            MaxQueue = MaxQueue,
            MaxStderr = MaxStderr,
            Rate = Rate,
            Retention = Retention,
            Private = Private,
            Authorization = Authorization,
            Cron = [.. Cron],
            Callback = Callback,
            AllowCallbackUrl = AllowCallbackUrl,
            Handler = _handler,
        };
        unit.Validate();
        return unit;
    }
}
