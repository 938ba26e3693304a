using Microsoft.Extensions.Logging;
using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>Creates or migrates the shared store's schema under an advisory lock, so nodes starting together migrate
/// one at a time.</summary>
internal static partial class PostgreSqlMigrator
{
    /// <summary>Brings the schema to this build's version.</summary>
    /// <exception cref="InvalidOperationException">The database holds a newer schema than this build knows.</exception>
    public static async Task MigrateAsync(NpgsqlDataSource dataSource, ILogger logger, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using (var command = Sql.Command(connection, PostgreSqlSchema.LockForMigration, transaction))
                {
                    command.Parameters.Long("lock", PostgreSqlSchema.MigrationLock);
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await ExecuteAsync(connection, transaction, PostgreSqlSchema.CreateVersionTable, cancellationToken).ConfigureAwait(false);
                int version;
                using (var command = Sql.Command(connection, PostgreSqlSchema.SelectVersion, transaction))
                {
                    var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    if (value is int current)
                    {
                        version = current;
                    }
                    else
                    {
                        version = 0;
                        await ExecuteAsync(connection, transaction, PostgreSqlSchema.InsertVersion, cancellationToken).ConfigureAwait(false);
                    }
                }

                var known = PostgreSqlSchema.Migrations.Length;
                if (version > known)
                {
                    throw new InvalidOperationException(
                        $"the PostgreSQL database has nano-run schema version {version}, newer than this build knows ({known}); upgrade nano-run on this node");
                }

                for (var i = version; i < known; i++)
                {
                    await ExecuteAsync(connection, transaction, PostgreSqlSchema.Migrations[i], cancellationToken).ConfigureAwait(false);
                }

                if (version < known)
                {
                    using var update = Sql.Command(connection, PostgreSqlSchema.UpdateVersion, transaction);
                    update.Parameters.Int("version", known);
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    LogMigrated(logger, version, known);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string text, CancellationToken cancellationToken)
    {
        using var command = Sql.Command(connection, text, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Migrated the PostgreSQL schema from version {From} to {To}")]
    private static partial void LogMigrated(ILogger logger, int from, int to);
}
