using static NanoRun.Storage.Sqlite.SqliteValues;

namespace NanoRun.Storage.Sqlite;

/// <summary>The embedded store's completion callbacks, kept in the <c>callback_*</c> columns of the request row.</summary>
internal sealed class SqliteCallbackStore(SqliteConnections db) : ICallbackStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<DueCallback>> ClaimCallbacksAsync(CallbackClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        if (claim.Limit <= 0)
        {
            return [];
        }

        var claimed = new List<DueCallback>(claim.Limit);
        var writer = await db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = writer.CreateCommand();
            command.CommandText = SqliteSchema.ClaimCallbacks;
            command.Parameters.AddWithValue("@until", Ms(claim.LeaseUntil));
            command.Parameters.AddWithValue("@now", Ms(claim.Now));
            command.Parameters.AddWithValue("@limit", claim.Limit);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                claimed.Add(new DueCallback(reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
            }
        }
        finally
        {
            db.ExitWrite();
        }

        return claimed;
    }

    /// <inheritdoc />
    public async Task<bool> RecordCallbackAsync(CallbackDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var writer = await db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = writer.CreateCommand();
            command.CommandText = SqliteSchema.RecordCallback;
            command.Parameters.AddWithValue("@id", delivery.RequestId);
            command.Parameters.AddWithValue("@state", (int)delivery.State);
            command.Parameters.AddWithValue("@attempts", delivery.Attempts);
            command.Parameters.AddWithValue("@status", (object?)delivery.LastStatus ?? DBNull.Value);
            command.Parameters.AddWithValue("@error", (object?)delivery.LastError ?? DBNull.Value);
            command.Parameters.AddWithValue("@next_at", Ms(delivery.NextAt));
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }
        finally
        {
            db.ExitWrite();
        }
    }

    /// <inheritdoc />
    public async Task<CallbackStatus?> GetCallbackAsync(string requestId, CancellationToken cancellationToken = default)
    {
        db.EnsureOpen();
        var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectCallback;
            command.Parameters.AddWithValue("@id", requestId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return new CallbackStatus(
                (CallbackState)reader.GetInt32(0),
                reader.GetInt32(1),
                reader.IsDBNull(2) ? null : reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                Time(reader.GetInt64(4)));
        }
    }
}
