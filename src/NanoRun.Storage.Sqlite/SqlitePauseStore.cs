using static NanoRun.Storage.Sqlite.SqliteValues;

namespace NanoRun.Storage.Sqlite;

/// <summary>The embedded store's paused units and schedule entries, one row each in <c>pauses</c>.</summary>
internal sealed class SqlitePauseStore(SqliteConnections db) : IPauseStore
{
    /// <inheritdoc />
    public async Task SetPausedAsync(PauseChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var writer = await db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = writer.CreateCommand();
            command.CommandText = change.Paused ? SqliteSchema.InsertPause : SqliteSchema.DeletePause;
            command.Parameters.AddWithValue("@unit", change.Unit);
            command.Parameters.AddWithValue("@schedule", change.Schedule ?? string.Empty);
            if (change.Paused)
            {
                command.Parameters.AddWithValue("@since", Ms(change.At));
            }

            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            db.ExitWrite();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PausedTarget>> ListPausedAsync(CancellationToken cancellationToken = default)
    {
        db.EnsureOpen();
        var paused = new List<PausedTarget>();
        var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectPauses;
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var schedule = reader.GetString(1);
                paused.Add(new PausedTarget(reader.GetString(0), schedule.Length == 0 ? null : schedule, Time(reader.GetInt64(2))));
            }
        }

        return paused;
    }
}
