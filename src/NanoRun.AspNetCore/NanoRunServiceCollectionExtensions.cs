using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NanoRun.AspNetCore.Authorization;
using NanoRun.Queue;

namespace NanoRun.AspNetCore;

/// <summary>Registers Nano-Run in a host.</summary>
public static class NanoRunServiceCollectionExtensions
{
    /// <summary>Adds the engine and the API's services; choose a store on the returned builder (for example <c>UseSqlite</c>).</summary>
    public static NanoRunBuilder AddNanoRun(this IServiceCollection services, Action<EngineOptions>? configureEngine = null, Action<ApiOptions>? configureApi = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var api = new ApiOptions();
        configureApi?.Invoke(api);
        services.TryAddSingleton(api);
        services.TryAddSingleton<UnitAuthorizer>();
        return NanoRunBuilder.AddEngine(services, configureEngine);
    }
}
