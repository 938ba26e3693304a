using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NanoRun.Storage;

namespace NanoRun.Samples.InMemoryStore;

/// <summary>Registers the in-memory store, the way any provider plugs into <c>AddNanoRun</c>.</summary>
public static class InMemoryNanoRunBuilderExtensions
{
    /// <summary>Keeps requests, results and bodies in memory (lost when the process ends).</summary>
    public static NanoRunBuilder UseInMemoryStore(this NanoRunBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<IRequestStore>(sp => new InMemoryRequestStore(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        builder.Services.TryAddSingleton<IBlobStore>(_ => new InMemoryBlobStore());
        return builder;
    }
}
