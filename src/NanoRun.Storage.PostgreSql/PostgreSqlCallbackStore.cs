using Npgsql;
using NpgsqlTypes;

namespace NanoRun.Storage.PostgreSql;

/// <summary>The shared store's completion callbacks, kept in the <c>callback_*</c> columns of the request row.</summary>
internal sealed class PostgreSqlCallbackStore(NpgsqlDataSource dataSource, PostgreSqlRequestStore store) : ICallbackStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<DueCallback>> ClaimCallbacksAsync(CallbackClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        if (claim.Limit <= 0)
        {
            return [];
        }

        store.EnsureOpen();
        var claimed = new List<DueCallback>(claim.Limit);
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.ClaimCallbacks);
            command.Parameters.Time("until", claim.LeaseUntil);
            command.Parameters.Time("now", claim.Now);
            command.Parameters.Int("limit", claim.Limit);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    claimed.Add(new DueCallback(reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
                }
            }
        }

        return claimed;
    }

    /// <inheritdoc />
    public async Task<bool> RecordCallbackAsync(CallbackDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        store.EnsureOpen();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.RecordCallback);
            command.Parameters.Text("id", delivery.RequestId);
            command.Parameters.Add(new NpgsqlParameter<short>("state", NpgsqlDbType.Smallint) { TypedValue = (short)delivery.State });
            command.Parameters.Int("attempts", delivery.Attempts);
            command.Parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Integer) { Value = (object?)delivery.LastStatus ?? DBNull.Value });
            command.Parameters.Text("error", delivery.LastError);
            command.Parameters.Time("next_at", delivery.NextAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }
    }

    /// <inheritdoc />
    public async Task<CallbackStatus?> GetCallbackAsync(string requestId, CancellationToken cancellationToken = default)
    {
        store.EnsureOpen();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.SelectCallback);
            command.Parameters.Text("id", requestId);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                return new CallbackStatus(
                    (CallbackState)reader.GetInt16(0),
                    reader.GetInt32(1),
                    reader.IsDBNull(2) ? null : reader.GetInt32(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    Sql.ReadTime(reader, 4));
            }
        }
    }
}
