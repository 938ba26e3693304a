using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>The shared store's paused units and schedule entries, one row each in <c>nano_run_pauses</c>; a resume notifies every node.</summary>
internal sealed class PostgreSqlPauseStore(NpgsqlDataSource dataSource, PostgreSqlRequestStore store) : IPauseStore
{
    /// <inheritdoc />
    public async Task SetPausedAsync(PauseChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        store.EnsureOpen();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, change.Paused ? PostgreSqlSchema.InsertPause : PostgreSqlSchema.DeletePause);
            command.Parameters.Text("unit", change.Unit);
            command.Parameters.Text("schedule", change.Schedule ?? string.Empty);
            if (change.Paused)
            {
                command.Parameters.Time("since", change.At);
            }

            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PausedTarget>> ListPausedAsync(CancellationToken cancellationToken = default)
    {
        store.EnsureOpen();
        var paused = new List<PausedTarget>();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.SelectPauses);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var schedule = reader.GetString(1);
                    paused.Add(new PausedTarget(reader.GetString(0), schedule.Length == 0 ? null : schedule, Sql.ReadTime(reader, 2)));
                }
            }
        }

        return paused;
    }
}
