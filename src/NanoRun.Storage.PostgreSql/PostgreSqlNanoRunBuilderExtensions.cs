using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>Registers the shared store.</summary>
public static class PostgreSqlNanoRunBuilderExtensions
{
    /// <summary>Stores records, bodies and results in the PostgreSQL database named by <paramref name="connectionString"/>, which
    /// several nodes may share; the schema is created or migrated when the engine starts.</summary>
    /// <remarks>Unless the connection string sets <c>Application Name</c>, the node's name (<c>EngineOptions.NodeName</c>) is
    /// the connections' application name, so <c>pg_stat_activity</c> shows which node holds which connection.</remarks>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="connectionString">An Npgsql connection string, such as <c>Host=db;Database=nanorun;Username=nanorun;Password=…</c>.</param>
    public static NanoRunBuilder UsePostgreSql(this NanoRunBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        builder.Services.TryAddKeyedSingleton(ServiceKey, (sp, _) => PostgreSqlDataSource.Create(connectionString, sp.GetService<NanoRun.Queue.EngineOptions>()?.NodeName));
        builder.Services.TryAddSingleton<IRequestStore>(static sp => new PostgreSqlRequestStore(
            sp.GetRequiredKeyedService<NpgsqlDataSource>(ServiceKey),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<PostgreSqlRequestStore>>()));
        builder.Services.TryAddSingleton<IBlobStore>(static sp => new PostgreSqlBlobStore(sp.GetRequiredKeyedService<NpgsqlDataSource>(ServiceKey)));
        return builder;
    }

    /// <summary>Same as <see cref="UsePostgreSql"/>: stores everything in the PostgreSQL database named by <paramref name="connectionString"/>.</summary>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    public static NanoRunBuilder UsePostgres(this NanoRunBuilder builder, string connectionString) => builder.UsePostgreSql(connectionString);

    // The data source is keyed so that a host's own NpgsqlDataSource registration is neither used nor replaced.
    private static readonly object ServiceKey = new();
}
