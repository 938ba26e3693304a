using static NanoRun.Storage.Sqlite.SqliteValues;

namespace NanoRun.Storage.Sqlite;

/// <summary>The embedded store's node list: the one node serving the data folder, one row per process, written by its heartbeat.</summary>
internal sealed class SqliteNodeStore(SqliteConnections db) : INodeStore
{
    /// <inheritdoc />
    public async Task HeartbeatAsync(NodeRecord node, DateTimeOffset forgetBefore, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        var writer = await db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = writer.BeginTransaction();
            using (var upsert = writer.CreateCommand())
            {
                upsert.CommandText = SqliteSchema.UpsertNode;
                upsert.Parameters.AddWithValue("@id", node.Id);
                upsert.Parameters.AddWithValue("@name", node.Name);
                upsert.Parameters.AddWithValue("@version", node.Version);
                upsert.Parameters.AddWithValue("@started_at", Ms(node.StartedAt));
                upsert.Parameters.AddWithValue("@heartbeat_at", Ms(node.HeartbeatAt));
                upsert.Parameters.AddWithValue("@running", node.RunningAttempts);
                upsert.Parameters.AddWithValue("@units", string.Join('\n', node.Units));
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            using (var forget = writer.CreateCommand())
            {
                forget.CommandText = SqliteSchema.ForgetNodes;
                forget.Parameters.AddWithValue("@forget_before", Ms(forgetBefore));
                await forget.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            transaction.Commit();
        }
        finally
        {
            db.ExitWrite();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        db.EnsureOpen();
        var nodes = new List<NodeRecord>();
        var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectNodes;
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var units = reader.GetString(6);
                nodes.Add(new NodeRecord(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    Time(reader.GetInt64(3)),
                    Time(reader.GetInt64(4)),
                    reader.GetInt32(5),
                    units.Length == 0 ? [] : units.Split('\n')));
            }
        }

        return nodes;
    }
}
