using System.Runtime.CompilerServices;
using NanoRun.Requests;
using static NanoRun.Storage.Sqlite.SqliteValues;

namespace NanoRun.Storage.Sqlite;

/// <summary>The embedded store's reads: lookups, history pages and counts, each on a pooled read-only connection that
/// never waits for writes.</summary>
internal sealed class SqliteRequestReads(SqliteConnections db)
{
    public async Task<string?> FindByDedupeKeyAsync(string dedupeKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dedupeKey);
        db.EnsureOpen();
        var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectByDedupeKey;
            command.Parameters.AddWithValue("@dedupe_key", dedupeKey);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }
    }

    public async Task<DateTimeOffset?> NextDueAsync(string unit, CancellationToken cancellationToken)
    {
        db.EnsureOpen();
        var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.NextDue;
            command.Parameters.AddWithValue("@unit", unit);
            var due = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return due is long ms ? Time(ms) : null;
        }
    }

    public async Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken)
    {
        db.EnsureOpen();
        var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One read transaction: the request and its attempts come from the same snapshot.
            using var transaction = connection.BeginTransaction(deferred: true);
            RequestRecord record;
            using (var select = connection.CreateCommand())
            {
                select.CommandText = SqliteSchema.SelectRequest;
                select.Parameters.AddWithValue("@id", requestId);
                using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                record = new RequestRecord(
                    Id: reader.GetString(0),
                    Unit: reader.GetString(1),
                    State: (RequestState)reader.GetInt32(2),
                    Method: reader.GetString(3),
                    Uri: reader.GetString(4),
                    Headers: HeaderCodec.Decode(reader.GetString(5)),
                    Body: ReadBody(reader, 6),
                    CreatedAt: Time(reader.GetInt64(9)),
                    UpdatedAt: Time(reader.GetInt64(10)),
                    CompletedAt: reader.IsDBNull(11) ? null : Time(reader.GetInt64(11)),
                    Attempts: [])
                {
                    NotBefore = reader.IsDBNull(12) ? null : Time(reader.GetInt64(12)),
                };
            }

            var attempts = new List<AttemptRecord>();
            using (var select = connection.CreateCommand())
            {
                select.CommandText = SqliteSchema.SelectAttempts;
                select.Parameters.AddWithValue("@id", requestId);
                using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    attempts.Add(new AttemptRecord(
                        Id: reader.GetString(0),
                        Number: reader.GetInt32(1),
                        Code: reader.GetInt32(2),
                        Headers: HeaderCodec.Decode(reader.GetString(3)),
                        Result: ReadBody(reader, 4),
                        StartedAt: Time(reader.GetInt64(7)),
                        CreatedAt: Time(reader.GetInt64(8)))
                    {
                        Stderr = ReadBody(reader, 9),
                    });
                }
            }

            return record with { Attempts = attempts };
        }
    }

    /// <remarks>The page is read into memory (at most <see cref="PageParams.Limit"/> small summaries) before the first item
    /// is yielded, so a slow consumer never holds a read snapshot open.</remarks>
    public async IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfLessThan(page.Limit, 1);
        db.EnsureOpen();
        var summaries = new List<RequestSummary>(Math.Min(page.Limit, 1000));
        var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = (page.State, page.Before) switch
            {
                (null, null) => SqliteSchema.Page,
                (null, _) => SqliteSchema.PageBefore,
                (_, null) => SqliteSchema.PageState,
                _ => SqliteSchema.PageStateBefore,
            };
            command.Parameters.AddWithValue("@unit", page.Unit);
            command.Parameters.AddWithValue("@limit", page.Limit);
            if (page.State is { } state)
            {
                command.Parameters.AddWithValue("@state", (int)state);
            }

            if (page.Before is not null)
            {
                command.Parameters.AddWithValue("@before", page.Before);
            }

            await ReadSummariesAsync(command, summaries, cancellationToken).ConfigureAwait(false);
        }

        foreach (var summary in summaries)
        {
            yield return summary;
        }
    }

    /// <remarks>Read into memory before the first item is yielded, as <see cref="PageAsync"/> is.</remarks>
    public async IAsyncEnumerable<RequestSummary> SearchAsync(SearchParams search, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.Limit, 1);
        db.EnsureOpen();
        var summaries = new List<RequestSummary>(Math.Min(search.Limit, 1000));
        if (search.Text.Length > 0)
        {
            var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = connection.CreateCommand();
                command.CommandText = SqliteSchema.Search;
                command.Parameters.AddWithValue("@unit", search.Unit);
                command.Parameters.AddWithValue("@text", search.Text);
                // Every id starting with the text sorts below text + U+FFFF.
                command.Parameters.AddWithValue("@high", search.Text + '\uffff');
                command.Parameters.AddWithValue("@limit", search.Limit);
                command.Parameters.AddWithValue("@before", (object?)search.Before ?? DBNull.Value);
                await ReadSummariesAsync(command, summaries, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var summary in summaries)
        {
            yield return summary;
        }
    }

    private static async Task ReadSummariesAsync(Microsoft.Data.Sqlite.SqliteCommand command, List<RequestSummary> summaries, CancellationToken cancellationToken)
    {
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            summaries.Add(new RequestSummary(
                Id: reader.GetString(0),
                Unit: reader.GetString(1),
                State: (RequestState)reader.GetInt32(2),
                AttemptCount: reader.GetInt32(3),
                CreatedAt: Time(reader.GetInt64(4)),
                CompletedAt: reader.IsDBNull(5) ? null : Time(reader.GetInt64(5)))
            {
                FirstStartedAt = reader.IsDBNull(6) ? null : Time(reader.GetInt64(6)),
                Ran = TimeSpan.FromMilliseconds(reader.GetInt64(7)),
            });
        }
    }

    public async Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken)
    {
        db.EnsureOpen();
        var connection = await db.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.CountByState;
            command.Parameters.AddWithValue("@unit", unit);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var byState = new long[6];
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var state = reader.GetInt32(0);
                if ((uint)state < (uint)byState.Length)
                {
                    byState[state] = reader.GetInt64(1);
                }
            }

            return new StateCounts(byState[0], byState[1], byState[2], byState[3], byState[4], byState[5]);
        }
    }

}
