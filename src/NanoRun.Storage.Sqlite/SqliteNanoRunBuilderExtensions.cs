using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using NanoRun.Queue;
using NanoRun.Storage;

namespace NanoRun.Storage.Sqlite;

/// <summary>Registers the embedded store.</summary>
public static class SqliteNanoRunBuilderExtensions
{
    /// <summary>
    /// Stores records in SQLite and bodies as files, both under <paramref name="dataDirectory"/> (created when missing).
    /// The folder becomes the engine's <see cref="EngineOptions.DiskGuardPath"/> unless the host sets one, so
    /// <see cref="EngineOptions.MinFreeDisk"/> guards its free space.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="dataDirectory">The folder of the database and the body files.</param>
    public static NanoRunBuilder UseSqlite(this NanoRunBuilder builder, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var full = Path.GetFullPath(dataDirectory);
        builder.Services.PostConfigure<EngineOptions>(engine => engine.DiskGuardPath ??= full);
        builder.Services.TryAddSingleton<IRequestStore>(sp => new SqliteRequestStore(
            full,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<SqliteRequestStore>>()));
        builder.Services.TryAddSingleton<IBlobStore>(_ => new FileBlobStore(Path.Combine(full, "blobs")));
        return builder;
    }
}
