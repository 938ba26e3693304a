using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NanoRun.Admission;
using NanoRun.Callbacks;
using NanoRun.Metrics;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Retention;
using NanoRun.Runners;
using NanoRun.Scheduling;
using NanoRun.Units;

namespace NanoRun;

/// <summary>Returned by <c>AddNanoRun</c>; storage providers and unit sources are extension methods on it.</summary>
public sealed class NanoRunBuilder
{
    internal NanoRunBuilder(IServiceCollection services) => Services = services;

    /// <summary>The host's service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Registers the engine's services once; hosts may replace any of them first with their own registrations.</summary>
    internal static NanoRunBuilder AddEngineCore(IServiceCollection services, Action<EngineOptions>? configure)
    {
        // Options follow the options pattern: the host's Configure<T> calls, before or after AddNanoRun, all apply,
        // and the values are checked when the host starts. Services take the value resolved from IOptions<T>.
        services.AddOptions<EngineOptions>().ValidateOnStart();
        services.AddOptions<RetentionOptions>().ValidateOnStart();
        services.AddOptions<CallbackOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetentionOptions>, EngineOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CallbackOptions>, EngineOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(static sp => sp.GetRequiredService<IOptions<EngineOptions>>().Value);
        services.TryAddSingleton(static sp => sp.GetRequiredService<IOptions<RetentionOptions>>().Value);
        services.TryAddSingleton(static sp => sp.GetRequiredService<IOptions<CallbackOptions>>().Value);
        services.TryAddSingleton(TimeProvider.System);
        var builder = new NanoRunBuilder(services);
        if (!services.Any(static d => d.ServiceType == typeof(AttemptRunnerSelector)))
        {
            // The built-in modes go through the same registration as a host's own; a host's later AddRunner of the same name wins.
            builder.AddRunner<BinRunner>(UnitModes.Bin)
                .AddRunner<CgiRunner>(UnitModes.Cgi)
                .AddRunner<ProxyRunner>(UnitModes.Proxy)
                .AddRunner<HandlerRunner>(UnitModes.Handler);
        }

        services.TryAddSingleton(static sp => new AttemptRunnerSelector(sp.GetServices<RunnerRegistration>(), sp));
        services.TryAddSingleton(static sp => new UnitCatalog(CheckedUnits(sp)));
        services.TryAddSingleton(static sp => new NanoRunMetrics(sp.GetService<IMeterFactory>(), sp.GetRequiredService<UnitCatalog>()));
        services.TryAddSingleton<NanoRunEngine>();
        services.TryAddSingleton(static sp => new Storage.StoreCircuit(
            sp.GetRequiredService<Storage.IRequestStore>(),
            sp.GetRequiredService<EngineOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Storage.StoreCircuit>>()));
        services.TryAddSingleton(static sp => new RequestAdmission(
            sp.GetRequiredService<UnitCatalog>(),
            sp.GetRequiredService<Storage.IRequestStore>(),
            sp.GetRequiredService<Storage.IBlobStore>(),
            sp.GetRequiredService<EngineOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<RequestAdmission>>(),
            sp.GetRequiredService<NanoRunMetrics>(),
            sp.GetRequiredService<NanoRunEngine>(),
            sp.GetRequiredService<Storage.StoreCircuit>()));
        services.TryAddSingleton<INanoRunQueue>(static sp => sp.GetRequiredService<RequestAdmission>());
        services.TryAddSingleton<INanoRunRequests>(static sp => new StoredRequests(
            sp.GetRequiredService<NanoRunEngine>(),
            sp.GetRequiredService<UnitCatalog>(),
            sp.GetRequiredService<Storage.IRequestStore>(),
            sp.GetRequiredService<Storage.IBlobStore>(),
            sp.GetRequiredService<Storage.StoreCircuit>()));
        services.TryAddSingleton<QueueGauges>();
        services.TryAddSingleton<INanoRunMeter>(static sp => sp.GetRequiredService<QueueGauges>());
        services.AddHostedService(static sp => sp.GetRequiredService<NanoRunEngine>());
        services.TryAddSingleton<RetentionCleaner>();
        services.AddHostedService(static sp => sp.GetRequiredService<RetentionCleaner>());
        services.TryAddSingleton<CallbackDispatcher>();
        services.AddHostedService(static sp => sp.GetRequiredService<CallbackDispatcher>());

        // Registered after the engine: hosted services start in order, so schedules begin once the store is open.
        services.TryAddSingleton(static sp => sp.GetRequiredService<NanoRunEngine>().Pauses);
        services.TryAddSingleton<CronScheduler>();
        services.TryAddSingleton<Control.IUnitControl>(static sp => new Control.UnitControl(
            sp.GetRequiredService<NanoRunEngine>(), sp.GetRequiredService<UnitCatalog>(), sp.GetRequiredService<CronScheduler>()));
        services.TryAddSingleton<IScheduleStatus>(static sp => sp.GetRequiredService<CronScheduler>());
        services.AddHostedService(static sp => sp.GetRequiredService<CronScheduler>());
        return builder;
    }

    // Units reach the catalog here whichever way they were registered, so each is held to the same rules at start.
    private static List<UnitDefinition> CheckedUnits(IServiceProvider services)
    {
        var runners = services.GetRequiredService<AttemptRunnerSelector>();
        var units = services.GetServices<UnitDefinition>().ToList();
        foreach (var unit in units)
        {
            unit.Validate();
            runners.Check(unit);
        }

        return units;
    }
}

/// <summary>Registers the engine in a host without a web layer, such as a console app or a worker service.</summary>
public static class NanoRunEngineServiceCollectionExtensions
{
    /// <summary>
    /// Registers the engine (queue, workers, retries, schedules, retention, callbacks) and its options
    /// (<see cref="EngineOptions"/>, checked at start); a storage provider and units are added on the builder it returns.
    /// <c>AddNanoRun</c> of the web layer calls it. Requests enter through
    /// <see cref="INanoRunQueue"/> and are read through <see cref="INanoRunRequests"/>.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Sets <see cref="EngineOptions"/>; default none, the values bound or configured elsewhere.</param>
    public static NanoRunBuilder AddNanoRunEngine(this IServiceCollection services, Action<EngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        return NanoRunBuilder.AddEngineCore(services, configure);
    }
}

/// <summary>Runner registration on <see cref="NanoRunBuilder"/>: how a host adds a mode.</summary>
public static class NanoRunBuilderRunnerExtensions
{
    /// <summary>
    /// Adds the mode <paramref name="mode"/>, run by the runner <paramref name="factory"/> makes once when the engine
    /// starts; units name it in <c>mode</c>. Registering a name again, a built-in one too, replaces its runner.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="mode">The mode name: ASCII letters, digits, <c>-</c> and <c>_</c>, matched without regard to case.</param>
    /// <param name="factory">Makes the runner from the host's services.</param>
    /// <exception cref="ArgumentException"><paramref name="mode"/> is not a valid mode name.</exception>
    public static NanoRunBuilder AddRunner(this NanoRunBuilder builder, string mode, Func<IServiceProvider, IAttemptRunner> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        if (!UnitRules.IsValidModeName(mode))
        {
            throw new ArgumentException($"'{mode}' is not a mode name of ASCII letters, digits, '-' and '_'", nameof(mode));
        }

        builder.Services.AddSingleton(new RunnerRegistration(mode.ToLowerInvariant(), factory));
        return builder;
    }

    /// <summary>
    /// Records the process group of every attempt's command under <paramref name="folder"/> and, at start, kills the
    /// groups that a process which died without shutting down left running. Add it after the storage provider, so the
    /// sweep runs once this process holds the data folder; the folder must belong to this node alone.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="folder">A private folder, such as <c>groups</c> inside the data folder.</param>
    public static NanoRunBuilder TrackProcessGroups(this NanoRunBuilder builder, string folder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        OrphanGroupSweep.Add(builder.Services, folder);
        return builder;
    }

    /// <summary>
    /// Adds the mode <paramref name="mode"/>, run by a <typeparamref name="TRunner"/> singleton (registered unless the
    /// host registered it); units name it in <c>mode</c>. Registering a name again replaces its runner.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="mode">The mode name: ASCII letters, digits, <c>-</c> and <c>_</c>, matched without regard to case.</param>
    /// <exception cref="ArgumentException"><paramref name="mode"/> is not a valid mode name.</exception>
    public static NanoRunBuilder AddRunner<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TRunner>(this NanoRunBuilder builder, string mode)
        where TRunner : class, IAttemptRunner
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TRunner>();
        return builder.AddRunner(mode, static sp => sp.GetRequiredService<TRunner>());
    }
}

/// <summary>Unit sources on <see cref="NanoRunBuilder"/>.</summary>
public static class NanoRunBuilderUnitExtensions
{
    /// <summary>Adds units defined in code or loaded by the host; each is checked with <see cref="UnitDefinition.Validate"/> now, and whether its mode has a runner at start.</summary>
    /// <exception cref="InvalidOperationException">A unit breaks a rule; the message names the unit and the key.</exception>
    public static NanoRunBuilder AddUnits(this NanoRunBuilder builder, IEnumerable<UnitDefinition> units)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(units);
        foreach (var unit in units)
        {
            ArgumentNullException.ThrowIfNull(unit);
            unit.Validate();
            builder.Services.AddSingleton(unit);
        }

        return builder;
    }

    /// <summary>
    /// Adds the units of every <c>*.yaml</c>/<c>*.yml</c> file under <paramref name="configDirectory"/> (read now; a file
    /// that does not parse or validate throws an exception naming the file, key and line).
    /// </summary>
    public static NanoRunBuilder AddUnitsFromDirectory(this NanoRunBuilder builder, string configDirectory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(configDirectory);
        return builder.AddUnits(UnitLoader.LoadDirectory(configDirectory));
    }

    /// <summary>
    /// Reloads the units of <paramref name="configDirectory"/> while the engine runs, as the files change (when
    /// <paramref name="watch"/>) and whenever <see cref="IUnitReloader.RequestReload"/> is called. Add the same folder's units
    /// at start with <see cref="AddUnitsFromDirectory"/> first; a file that stops parsing or validating keeps its last
    /// good unit in force, and a removed file's unit takes no new requests while its history stays readable.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="configDirectory">The unit folder.</param>
    /// <param name="watch">Whether file changes trigger a reload; default <c>true</c>. Without it only <see cref="IUnitReloader.RequestReload"/> does.</param>
    public static NanoRunBuilder ReloadUnitsFromDirectory(this NanoRunBuilder builder, string configDirectory, bool watch = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(configDirectory);
        UnitFolderReloader.Register(builder.Services, new UnitFolderOptions { Directory = configDirectory, Watch = watch });
        return builder;
    }

    /// <summary>Adds a unit defined in code, usually an in-process C# handler: <c>AddUnit("resize", unit => unit.Handle(...))</c>.</summary>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="name">The unit name; its API is <c>/api/{name}/</c>.</param>
    /// <param name="configure">Sets the handler (required) and settings such as attempts and interval.</param>
    /// <exception cref="InvalidOperationException"><paramref name="configure"/> set no handler in handler mode, or a setting is invalid (the message names the key).</exception>
    public static NanoRunBuilder AddUnit(this NanoRunBuilder builder, string name, Action<UnitBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configure);
        var unit = new UnitBuilder(name, builder.Services);
        configure(unit);
        builder.Services.AddSingleton(unit.Build());
        return builder;
    }
}
