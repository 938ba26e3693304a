using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using NanoRun.Storage;

namespace NanoRun.Storage.Sqlite;

/// <summary>Registers the embedded store.</summary>
public static class SqliteNanoRunBuilderExtensions
{
    /// <summary>Stores records in SQLite and bodies as files, both under <paramref name="dataDirectory"/> (created when missing).</summary>
    public static NanoRunBuilder UseSqlite(this NanoRunBuilder builder, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var full = Path.GetFullPath(dataDirectory);
        builder.Services.TryAddSingleton<IRequestStore>(sp => new SqliteRequestStore(
            full,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<SqliteRequestStore>>()));
        builder.Services.TryAddSingleton<IBlobStore>(_ => new FileBlobStore(Path.Combine(full, "blobs")));
        return builder;
    }
}
