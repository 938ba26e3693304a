using System.Data;
using System.Runtime.CompilerServices;
using Npgsql;
using NanoRun.Requests;

namespace NanoRun.Storage.PostgreSql;

/// <summary>The shared store's reads: lookups, history pages and counts, each on its own pooled connection.</summary>
internal sealed class PostgreSqlRequestReads(NpgsqlDataSource dataSource, PostgreSqlRequestStore store)
{
    public async Task<string?> FindByDedupeKeyAsync(string dedupeKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dedupeKey);
        store.EnsureOpen();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.SelectByDedupeKey);
            command.Parameters.Text("dedupe_key", dedupeKey);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }
    }

    public async Task<DateTimeOffset?> NextDueAsync(string unit, CancellationToken cancellationToken)
    {
        store.EnsureOpen();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.NextDue);
            command.Parameters.Text("unit", unit);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                return Sql.ReadNullableTime(reader, 0);
            }
        }
    }

    public async Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken)
    {
        store.EnsureOpen();
        var byState = new long[6];
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.CountByState);
            command.Parameters.Text("unit", unit);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var state = reader.GetInt16(0);
                    if ((uint)state < (uint)byState.Length)
                    {
                        byState[state] = reader.GetInt64(1);
                    }
                }
            }
        }

        return new StateCounts(byState[0], byState[1], byState[2], byState[3], byState[4], byState[5]);
    }

    public async Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken)
    {
        store.EnsureOpen();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One snapshot for the request and its attempts, read in one round trip.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using var batch = new NpgsqlBatch(connection, transaction);
                var request = Sql.BatchCommand(PostgreSqlSchema.SelectRequest);
                request.Parameters.Text("id", requestId);
                batch.BatchCommands.Add(request);
                var attempts = Sql.BatchCommand(PostgreSqlSchema.SelectAttempts);
                attempts.Parameters.Text("id", requestId);
                batch.BatchCommands.Add(attempts);

                var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return null;
                    }

                    var record = new RequestRecord(
                        Id: reader.GetString(0),
                        Unit: reader.GetString(1),
                        State: (RequestState)reader.GetInt16(2),
                        Method: reader.GetString(3),
                        Uri: reader.GetString(4),
                        Headers: Sql.ReadHeaders(reader, 5),
                        Body: Sql.ReadBody(reader, 7),
                        CreatedAt: Sql.ReadTime(reader, 10),
                        UpdatedAt: Sql.ReadTime(reader, 11),
                        CompletedAt: Sql.ReadNullableTime(reader, 12),
                        Attempts: [])
                    {
                        NotBefore = Sql.ReadNullableTime(reader, 13),
                    };

                    await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                    var list = new List<AttemptRecord>();
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        list.Add(new AttemptRecord(
                            Id: reader.GetString(0),
                            Number: reader.GetInt32(1),
                            Code: reader.GetInt32(2),
                            Headers: Sql.ReadHeaders(reader, 3),
                            Result: Sql.ReadBody(reader, 5),
                            StartedAt: Sql.ReadTime(reader, 8),
                            CreatedAt: Sql.ReadTime(reader, 9))
                        {
                            Stderr = Sql.ReadBody(reader, 10),
                        });
                    }

                    return record with { Attempts = list };
                }
            }
        }
    }

    /// <remarks>The page is read into memory (at most <see cref="PageParams.Limit"/> small summaries) before the first item
    /// is yielded, so a slow consumer never holds a connection.</remarks>
    public async IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfLessThan(page.Limit, 1);
        store.EnsureOpen();
        var summaries = new List<RequestSummary>(Math.Min(page.Limit, 1000));
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var text = (page.State, page.Before) switch
            {
                (null, null) => PostgreSqlSchema.Page,
                (null, _) => PostgreSqlSchema.PageBefore,
                (_, null) => PostgreSqlSchema.PageState,
                _ => PostgreSqlSchema.PageStateBefore,
            };
            using var command = Sql.Command(connection, text);
            command.Parameters.Text("unit", page.Unit);
            command.Parameters.Int("limit", page.Limit);
            if (page.State is { } state)
            {
                command.Parameters.Int("state", (int)state);
            }

            if (page.Before is not null)
            {
                command.Parameters.Text("before", page.Before);
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
        store.EnsureOpen();
        var summaries = new List<RequestSummary>(Math.Min(search.Limit, 1000));
        if (search.Text.Length > 0)
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = Sql.Command(connection, PostgreSqlSchema.Search);
                command.Parameters.Text("unit", search.Unit);
                command.Parameters.Text("text", search.Text);
                // Every id starting with the text sorts below text + U+FFFF in byte order.
                command.Parameters.Text("high", search.Text + '\uffff');
                command.Parameters.Int("limit", search.Limit);
                command.Parameters.Text("before", search.Before);
                await ReadSummariesAsync(command, summaries, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var summary in summaries)
        {
            yield return summary;
        }
    }

    private static async Task ReadSummariesAsync(NpgsqlCommand command, List<RequestSummary> summaries, CancellationToken cancellationToken)
    {
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                summaries.Add(new RequestSummary(
                    Id: reader.GetString(0),
                    Unit: reader.GetString(1),
                    State: (RequestState)reader.GetInt16(2),
                    AttemptCount: reader.GetInt32(3),
                    CreatedAt: Sql.ReadTime(reader, 4),
                    CompletedAt: Sql.ReadNullableTime(reader, 5))
                {
                    FirstStartedAt = Sql.ReadNullableTime(reader, 6),
                    Ran = TimeSpan.FromMilliseconds(reader.GetInt64(7)),
                });
            }
        }
    }
}
