namespace NanoRun.Storage.PostgreSql;

/// <summary>The shared store's activity counts for the UI's charts.</summary>
internal sealed partial class PostgreSqlRequestStore : IActivityStore
{
    // One statement, two range scans: arrivals over nano_run_requests_created, completions over
    // nano_run_requests_finished. The first column is -1 for an arrival, else the final state (3 succeeded, 4 failed).
    // Times are stored to the millisecond, so the bucket index is an exact integer division.
    private const string CountActivity = """
        SELECT -1, floor(EXTRACT(EPOCH FROM created_at - @from) * 1000 / @width)::bigint AS bucket, count(*)
        FROM nano_run_requests
        WHERE unit = @unit AND created_at >= @from AND created_at < @to
        GROUP BY bucket
        UNION ALL
        SELECT state, floor(EXTRACT(EPOCH FROM completed_at - @from) * 1000 / @width)::bigint AS bucket, count(*)
        FROM nano_run_requests
        WHERE unit = @unit AND completed_at IS NOT NULL AND completed_at >= @from AND completed_at < @to AND state IN (3, 4)
        GROUP BY state, bucket
        """;

    /// <inheritdoc />
    public async Task<IReadOnlyList<ActivityBucket>> CountActivityAsync(ActivityParams activity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(activity);
        activity.Validate();
        EnsureOpen();
        var counts = new ActivityCounts(activity.Buckets);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, CountActivity);
            command.Parameters.Text("unit", activity.Unit);
            command.Parameters.Time("from", activity.From);
            command.Parameters.Time("to", activity.To);
            command.Parameters.Long("width", activity.WidthMilliseconds);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    counts.Add(reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2));
                }
            }
        }

        return counts.ToList();
    }
}
