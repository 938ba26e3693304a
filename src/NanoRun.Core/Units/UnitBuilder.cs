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

    /// <summary>Maximum attempts for one request, exact; default 3.</summary>
    public int Attempts { get; set; } = 3;

    /// <summary>Pause between attempts; default 5 seconds.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Attempts of this unit running at once; default 1.</summary>
    public int Workers { get; set; } = 1;

    /// <summary>After this an attempt's cancellation token fires and the attempt fails (502); default none.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Largest request body in bytes; default 1 MiB; 0 means unlimited.</summary>
    public long MaxRequest { get; set; } = 1024 * 1024;

    /// <summary>Most requests waiting before new ones are refused with 503; default 0, unlimited.</summary>
    public long MaxQueue { get; set; }

    /// <summary>When <c>true</c> the unit is not exposed over the API (schedule-only); default <c>false</c>.</summary>
    public bool Private { get; set; }

    /// <summary>Per-unit API authorization; default none (open).</summary>
    public UnitAuthorization Authorization { get; set; } = new();

    /// <summary>Which finished requests are kept; <c>null</c> (default) means the server-wide policy.</summary>
    public RetentionPolicy? Retention { get; set; }

    /// <summary>Schedules that queue requests for this unit; default none.</summary>
    public IList<CronEntry> Cron { get; } = [];

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

    internal UnitDefinition Build()
    {
        if (_handler is null)
        {
            throw new InvalidOperationException($"unit {Name}: call Handle(...) to give it a handler");
        }

        return new UnitDefinition
        {
            Name = Name,
            Mode = UnitMode.Handler,
            Command = string.Empty,
            Attempts = Attempts,
            Interval = Interval,
            Workers = Workers,
            Timeout = Timeout,
            MaxRequest = MaxRequest,
            MaxQueue = MaxQueue,
            Private = Private,
            Authorization = Authorization,
            Retention = Retention,
            Cron = [.. Cron],
            Handler = _handler,
        };
    }
}
