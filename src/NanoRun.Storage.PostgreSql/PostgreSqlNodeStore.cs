using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>The shared store's node list: one row per node process in <c>nano_run_nodes</c>, written by its heartbeat.</summary>
internal sealed class PostgreSqlNodeStore(NpgsqlDataSource dataSource, PostgreSqlRequestStore store) : INodeStore
{
    /// <inheritdoc />
    public async Task HeartbeatAsync(NodeRecord node, DateTimeOffset forgetBefore, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        store.EnsureOpen();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var batch = new NpgsqlBatch(connection);
            await using (batch.ConfigureAwait(false))
            {
                var upsert = Sql.BatchCommand(PostgreSqlSchema.UpsertNode);
                upsert.Parameters.Text("id", node.Id);
                upsert.Parameters.Text("name", node.Name);
                upsert.Parameters.Text("version", node.Version);
                upsert.Parameters.Time("started_at", node.StartedAt);
                upsert.Parameters.Time("heartbeat_at", node.HeartbeatAt);
                upsert.Parameters.Int("running", node.RunningAttempts);
                upsert.Parameters.TextArray("units", [.. node.Units]);
                batch.BatchCommands.Add(upsert);
                var forget = Sql.BatchCommand(PostgreSqlSchema.ForgetNodes);
                forget.Parameters.Time("forget_before", forgetBefore);
                batch.BatchCommands.Add(forget);
                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        store.EnsureOpen();
        var nodes = new List<NodeRecord>();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.SelectNodes);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    nodes.Add(new NodeRecord(
                        reader.GetString(0),
                        reader.GetString(1),
                        reader.GetString(2),
                        Sql.ReadTime(reader, 3),
                        Sql.ReadTime(reader, 4),
                        reader.GetInt32(5),
                        reader.GetFieldValue<string[]>(6)));
                }
            }
        }

        return nodes;
    }
}
