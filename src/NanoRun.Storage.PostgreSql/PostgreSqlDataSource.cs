using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>Builds the provider's data source with only the features it uses, so that it trims and compiles ahead of time.</summary>
internal static class PostgreSqlDataSource
{
    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlSlimDataSourceBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ConnectionStringBuilder.ApplicationName))
        {
            builder.ConnectionStringBuilder.ApplicationName = "nano-run";
        }

        // Headers are stored as text[] pairs.
        builder.EnableArrays();
        return builder.Build();
    }
}
