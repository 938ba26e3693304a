using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>Builds the provider's data source with only the features it uses, so that it trims and compiles ahead of time.</summary>
internal static class PostgreSqlDataSource
{
    /// <summary>Builds the data source; its connections carry <paramref name="nodeName"/> as their application name
    /// (<c>pg_stat_activity.application_name</c>) unless the connection string names one.</summary>
    public static NpgsqlDataSource Create(string connectionString, string? nodeName = null)
    {
        var builder = new NpgsqlSlimDataSourceBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ConnectionStringBuilder.ApplicationName))
        {
            // So an operator can count each node's connections; PostgreSQL keeps the first 63 bytes.
            builder.ConnectionStringBuilder.ApplicationName = string.IsNullOrEmpty(nodeName) ? "nano-run" : nodeName;
        }

        // A database that is restarting or unreachable fails a call after 5 seconds rather than Npgsql's 15, unless the
        // connection string says otherwise: admission answers 503 well before a client gives up.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("Timeout"))
        {
            builder.ConnectionStringBuilder.Timeout = 5;
        }

        // Headers are stored as text[] pairs.
        builder.EnableArrays();
        return builder.Build();
    }
}
