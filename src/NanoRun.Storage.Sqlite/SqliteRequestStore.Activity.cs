using static NanoRun.Storage.Sqlite.SqliteValues;

namespace NanoRun.Storage.Sqlite;

/// <summary>The embedded store's activity counts for the UI's charts.</summary>
public sealed partial class SqliteRequestStore : IActivityStore
{
    // One statement, two index-only range scans: arrivals over requests_created, completions over requests_finished.
    // The first column is -1 for an arrival, else the final state (3 succeeded, 4 failed).
    private const string CountActivity = """
        SELECT -1, (created_at - @from) / @width, COUNT(*) FROM requests
        WHERE unit = @unit AND created_at >= @from AND created_at < @to
        GROUP BY 2
        UNION ALL
        SELECT state, (completed_at - @from) / @width, COUNT(*) FROM requests
        WHERE unit = @unit AND completed_at IS NOT NULL AND completed_at >= @from AND completed_at < @to AND state IN (3, 4)
        GROUP BY 1, 2
        """;

    /// <inheritdoc />
    public async Task<IReadOnlyList<ActivityBucket>> CountActivityAsync(ActivityParams activity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(activity);
        activity.Validate();
        _db.EnsureOpen();
        var counts = new ActivityCounts(activity.Buckets);
        var connection = await _db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = CountActivity;
            command.Parameters.AddWithValue("@unit", activity.Unit);
            command.Parameters.AddWithValue("@from", Ms(activity.From));
            command.Parameters.AddWithValue("@to", Ms(activity.To));
            command.Parameters.AddWithValue("@width", activity.WidthMilliseconds);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                counts.Add(reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2));
            }
        }

        return counts.ToList();
    }
}
