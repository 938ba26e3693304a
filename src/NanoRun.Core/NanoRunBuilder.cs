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
    internal static NanoRunBuilder AddEngine(IServiceCollection services, Action<EngineOptions>? configure)
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
        services.TryAddSingleton(static sp => new RequestAdmission(
            sp.GetRequiredService<UnitCatalog>(),
            sp.GetRequiredService<Storage.IRequestStore>(),
            sp.GetRequiredService<Storage.IBlobStore>(),
            sp.GetRequiredService<EngineOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<RequestAdmission>>(),
            sp.GetRequiredService<NanoRunMetrics>(),
            sp.GetRequiredService<NanoRunEngine>()));
        services.TryAddSingleton<INanoRunQueue>(static sp => sp.GetRequiredService<RequestAdmission>());
        services.TryAddSingleton<QueueGauges>();
        services.AddHostedService(static sp => sp.GetRequiredService<NanoRunEngine>());
        services.TryAddSingleton<RetentionCleaner>();
        services.AddHostedService(static sp => sp.GetRequiredService<RetentionCleaner>());
        services.TryAddSingleton<CallbackDispatcher>();
        services.AddHostedService(static sp => sp.GetRequiredService<CallbackDispatcher>());

        // Registered after the engine: hosted services start in order, so schedules begin once the store is open.
        services.TryAddSingleton<CronScheduler>();
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
