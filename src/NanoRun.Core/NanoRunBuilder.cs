using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using NanoRun.Callbacks;
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
        var options = new EngineOptions();
        configure?.Invoke(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<BinRunner>();
        services.TryAddSingleton<CgiRunner>();
        services.TryAddSingleton<ProxyRunner>();
        services.TryAddSingleton<AttemptRunnerSelector>();
        services.TryAddSingleton(static sp => new UnitCatalog(sp.GetServices<UnitDefinition>()));
        services.TryAddSingleton<NanoRunEngine>();
        services.AddHostedService(static sp => sp.GetRequiredService<NanoRunEngine>());
        services.TryAddSingleton<RetentionOptions>();
        services.TryAddSingleton<RetentionCleaner>();
        services.AddHostedService(static sp => sp.GetRequiredService<RetentionCleaner>());
        services.TryAddSingleton<CallbackOptions>();
        services.TryAddSingleton<CallbackDispatcher>();
        services.AddHostedService(static sp => sp.GetRequiredService<CallbackDispatcher>());

        // Registered after the engine: hosted services start in order, so schedules begin once the store is open.
        services.TryAddSingleton<CronScheduler>();
        services.AddHostedService(static sp => sp.GetRequiredService<CronScheduler>());
        return new NanoRunBuilder(services);
    }
}

/// <summary>Unit sources on <see cref="NanoRunBuilder"/>.</summary>
public static class NanoRunBuilderUnitExtensions
{
    /// <summary>Adds units defined in code or loaded by the host.</summary>
    public static NanoRunBuilder AddUnits(this NanoRunBuilder builder, IEnumerable<UnitDefinition> units)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(units);
        foreach (var unit in units)
        {
            builder.Services.AddSingleton(unit);
        }

        return builder;
    }
}
