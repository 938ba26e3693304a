using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NanoRun.AspNetCore.Authorization;
using NanoRun.Queue;
using NanoRun.Retention;

namespace NanoRun.AspNetCore;

/// <summary>Registers Nano-Run in a host.</summary>
public static class NanoRunServiceCollectionExtensions
{
    /// <summary>
    /// Adds the engine and the API's services; choose a store on the returned builder (for example <c>UseSqlite</c>).
    /// The options are <see cref="IOptions{TOptions}"/>: the delegates given here and any
    /// <c>services.Configure&lt;T&gt;(…)</c>, before or after this call, all apply, and the values are checked when the host starts.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configureEngine">Sets <see cref="EngineOptions"/>; default none.</param>
    /// <param name="configureApi">Sets <see cref="ApiOptions"/>; default none.</param>
    public static NanoRunBuilder AddNanoRun(this IServiceCollection services, Action<EngineOptions>? configureEngine = null, Action<ApiOptions>? configureApi = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ApiOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiOptions>, WebOptionsValidator>());
        if (configureApi is not null)
        {
            services.Configure(configureApi);
        }

        services.TryAddSingleton(static sp => sp.GetRequiredService<IOptions<ApiOptions>>().Value);
        services.TryAddSingleton<UnitAuthorizer>();
        return services.AddNanoRunEngine(configureEngine);
    }

    /// <summary>
    /// Adds the engine and the API's services with their options bound from <paramref name="configuration"/>, usually
    /// <c>builder.Configuration.GetSection("NanoRun")</c>: its <c>Engine</c>, <c>Retention</c>, <c>Api</c> and <c>Ui</c>
    /// sections bind <see cref="EngineOptions"/>, <see cref="RetentionOptions"/>, <see cref="ApiOptions"/> and
    /// <see cref="UiOptions"/> (the UI itself is added with <c>AddUi</c>). Durations are written as <c>d.hh:mm:ss</c>
    /// (<c>1.00:00:00</c> is one day) and sizes in bytes. The binding is source-generated, so it works the same under
    /// Native AOT. Choose a store on the returned builder.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The <c>NanoRun</c> section of the host's configuration.</param>
    public static NanoRunBuilder AddNanoRun(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<EngineOptions>(configuration.GetSection("Engine"));
        services.Configure<RetentionOptions>(configuration.GetSection("Retention"));
        services.Configure<ApiOptions>(configuration.GetSection("Api"));
        services.Configure<UiOptions>(configuration.GetSection("Ui"));
        return services.AddNanoRun();
    }
}
