using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NanoRun.Requests;

namespace NanoRun.Storage.PostgreSql;

/// <summary>The shared request store: every node of a cluster works on the same PostgreSQL tables.</summary>
/// <remarks>
/// Claims take rows with <c>FOR UPDATE SKIP LOCKED</c>, so nodes never wait on each other's claims. Enqueues, releases and
/// requeued leases announce the unit with <c>NOTIFY</c>; subscribers (<see cref="IQueueSignal"/>) hear it through one
/// <c>LISTEN</c> connection per store. Unlike the embedded store, opening never touches running requests: other nodes'
/// leases are live, and only expired leases return to the queue (<see cref="RequeueExpiredAsync"/>). State changes follow
/// <see cref="RequestTransitions"/>.
/// </remarks>
internal sealed partial class PostgreSqlRequestStore : IRequestStore, ICallbackStore, INodeStore, IQueueSignal, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PostgreSqlQueueSignal _signal;
    private readonly PostgreSqlRequestReads _reads;
    private readonly PostgreSqlCallbackStore _callbacks;
    private readonly PostgreSqlNodeStore _nodes;
    private readonly PostgreSqlPauseStore _pauses;
    private int _initialized;
    private int _disposed;

    public PostgreSqlRequestStore(NpgsqlDataSource dataSource, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _signal = new PostgreSqlQueueSignal(dataSource, _time, _logger);
        _reads = new PostgreSqlRequestReads(dataSource, this);
        _callbacks = new PostgreSqlCallbackStore(dataSource, this);
        _nodes = new PostgreSqlNodeStore(dataSource, this);
        _pauses = new PostgreSqlPauseStore(dataSource, this);
    }

    /// <inheritdoc />
    /// <remarks>Creates or migrates the schema under an advisory lock, so nodes starting together migrate one at a time.
    /// Running requests are left alone.</remarks>
    /// <exception cref="InvalidOperationException">The database holds a newer schema than this build knows.</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (Volatile.Read(ref _initialized) != 0)
        {
            return;
        }

        await PostgreSqlMigrator.MigrateAsync(_dataSource, _logger, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _initialized, 1);
        _signal.MarkReady();
    }

    /// <inheritdoc />
    public async Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureOpen();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // Enqueue order: the caller committed the body before calling. The batch is one implicit transaction whose
            // commit returns only once the row is durable (synchronous_commit); the caller acknowledges after that, and
            // the NOTIFY goes out with the commit.
            return await InsertAsync(connection, null, request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Inserts the record inside <paramref name="transaction"/>, a transaction the host owns: the row and its NOTIFY
    /// take effect when the host commits, and vanish when it rolls back.
    /// </summary>
    internal static Task<bool> EnqueueAsync(NpgsqlTransaction transaction, NewRequest request, CancellationToken cancellationToken) =>
        InsertAsync(transaction.Connection ?? throw new InvalidOperationException("the transaction is already completed"), transaction, request, cancellationToken);

    private static async Task<bool> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, NewRequest request, CancellationToken cancellationToken)
    {
        using var batch = new NpgsqlBatch(connection, transaction);
        var insert = Sql.BatchCommand(PostgreSqlSchema.InsertRequest);
        insert.Parameters.Text("id", request.Id);
        insert.Parameters.Text("unit", request.Unit);
        insert.Parameters.Text("method", request.Method);
        insert.Parameters.Text("uri", request.Uri);
        insert.Parameters.Headers(request.Headers);
        insert.Parameters.Body("body", request.Body);
        insert.Parameters.Time("created_at", request.CreatedAt);
        insert.Parameters.Text("dedupe_key", request.DedupeKey);
        insert.Parameters.Add(new NpgsqlParameter("callback_state", NpgsqlTypes.NpgsqlDbType.Smallint) { Value = request.Callback ? (short)CallbackState.Pending : DBNull.Value });
        insert.Parameters.Text("principal", request.Principal);
        insert.Parameters.Time("not_before", request.NotBefore);
        batch.BatchCommands.Add(insert);
        if (request.SearchTerms.Count > 0)
        {
            // The search terms commit with the row, so a request is findable exactly when it is stored.
            var terms = Sql.BatchCommand(PostgreSqlSchema.InsertTerms);
            terms.Parameters.Text("id", request.Id);
            terms.Parameters.TextArray("terms", [.. request.SearchTerms]);
            batch.BatchCommands.Add(terms);
        }

        var notify = Sql.BatchCommand(PostgreSqlSchema.Notify);
        notify.Parameters.Text("unit", request.Unit);
        batch.BatchCommands.Add(notify);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return insert.RecordsAffected == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ClaimedRequest>> ClaimAsync(ClaimParams claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        if (claim.Limit <= 0)
        {
            return [];
        }

        EnsureOpen();
        var claimed = new List<(DateTimeOffset NextRunAt, long Seq, ClaimedRequest Request)>(claim.Limit);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.Claim);
            command.Parameters.Text("owner", claim.LeaseOwner);
            command.Parameters.Time("until", claim.LeaseUntil);
            command.Parameters.Time("now", claim.Now);
            command.Parameters.Text("unit", claim.Unit);
            command.Parameters.Int("limit", claim.Limit);

            // One statement, so one transaction: the lease is durable before any attempt starts.
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var request = new ClaimedRequest(
                        Id: reader.GetString(2),
                        Unit: reader.GetString(3),
                        Method: reader.GetString(4),
                        Uri: reader.GetString(5),
                        Headers: Sql.ReadHeaders(reader, 6),
                        Body: Sql.ReadBody(reader, 8),
                        AttemptsSoFar: reader.GetInt32(11),
                        CreatedAt: Sql.ReadTime(reader, 12))
                    {
                        Principal = reader.IsDBNull(13) ? null : reader.GetString(13),
                    };
                    claimed.Add((Sql.ReadTime(reader, 1), reader.GetInt64(0), request));
                }
            }
        }

        // RETURNING does not keep the subquery's order.
        claimed.Sort(static (a, b) => a.NextRunAt != b.NextRunAt ? a.NextRunAt.CompareTo(b.NextRunAt) : a.Seq.CompareTo(b.Seq));
        var result = new ClaimedRequest[claimed.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = claimed[i].Request;
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<int> RenewLeasesAsync(IReadOnlyCollection<string> requestIds, string leaseOwner, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        if (requestIds.Count == 0)
        {
            return 0;
        }

        EnsureOpen();
        var ids = new string[requestIds.Count];
        var n = 0;
        foreach (var id in requestIds)
        {
            ids[n++] = id;
        }

        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.RenewLeases);
            command.Parameters.TextArray("ids", ids);
            command.Parameters.Text("owner", leaseOwner);
            command.Parameters.Time("until", leaseUntil);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <remarks>The outcome applies only while the request is running under <see cref="AttemptOutcome.LeaseOwner"/>; otherwise
    /// the attempt is still recorded and counted and the state is left alone. When the attempt number is taken (a stale
    /// owner's attempt raced a newer one) the attempt gets the next free number.</remarks>
    public async Task<RequestState?> RecordAttemptAsync(AttemptOutcome outcome, CancellationToken cancellationToken = default)
    {
        RequestTransitions.ValidateOutcome(outcome);

        EnsureOpen();
        var attempt = outcome.Attempt;
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                AttemptTransition transition;
                using (var select = Sql.Command(connection, PostgreSqlSchema.LockForAttempt, transaction))
                {
                    select.Parameters.Text("id", outcome.RequestId);
                    var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            return null;
                        }

                        transition = RequestTransitions.RecordAttempt(
                            (RequestState)reader.GetInt16(0),
                            reader.IsDBNull(1) ? null : reader.GetString(1),
                            reader.GetInt32(2),
                            outcome);
                    }
                }

                using var batch = new NpgsqlBatch(connection, transaction);
                var insert = Sql.BatchCommand(PostgreSqlSchema.InsertAttempt);
                insert.Parameters.Text("request_id", outcome.RequestId);
                insert.Parameters.Int("number", transition.Number);
                insert.Parameters.Text("id", attempt.Id);
                insert.Parameters.Int("code", attempt.Code);
                insert.Parameters.Headers(attempt.Headers);
                insert.Parameters.Body("result", attempt.Result);
                insert.Parameters.Body("stderr", attempt.Stderr);
                insert.Parameters.Time("started_at", attempt.StartedAt);
                insert.Parameters.Time("created_at", attempt.CreatedAt);
                batch.BatchCommands.Add(insert);

                var update = Sql.BatchCommand(transition.Applies ? PostgreSqlSchema.ApplyOutcome : PostgreSqlSchema.CountAttempt);
                update.Parameters.Text("id", outcome.RequestId);
                update.Parameters.Time("now", attempt.CreatedAt);
                if (transition.Applies)
                {
                    update.Parameters.Int("state", (int)transition.State);
                    update.Parameters.Time("completed_at", transition.CompletedAt);
                    update.Parameters.Time("next_run_at", transition.NextRunAt);
                }

                batch.BatchCommands.Add(update);
                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return transition.State;
            }
        }
    }

    /// <inheritdoc />
    public async Task<bool> ReleaseAsync(string requestId, string leaseOwner, CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.Release);
            command.Parameters.Text("id", requestId);
            command.Parameters.Text("owner", leaseOwner);
            command.Parameters.Time("now", _time.GetUtcNow());
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                return await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async Task<RequestState?> CancelAsync(string requestId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using (var cancel = Sql.Command(connection, PostgreSqlSchema.Cancel))
            {
                cancel.Parameters.Text("id", requestId);
                cancel.Parameters.Time("now", now);
                if (await cancel.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0)
                {
                    return RequestState.Cancelled;
                }
            }

            // Unknown or already final: a final state never changes again, so a fresh read is the answer.
            using var select = Sql.Command(connection, PostgreSqlSchema.SelectState);
            select.Parameters.Text("id", requestId);
            var state = await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return RequestTransitions.Cancel(state is short s ? (RequestState)s : null);
        }
    }

    /// <inheritdoc />
    public async Task<CancelledBatch> CancelQueuedAsync(CancelQueuedParams cancel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cancel);
        EnsureOpen();
        var cancelled = new List<(long Seq, string Id)>(Math.Clamp(cancel.Limit, 0, 1000));
        bool more;
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var batch = new NpgsqlBatch(connection);
            var update = Sql.BatchCommand(PostgreSqlSchema.CancelQueued);
            update.Parameters.Text("unit", cancel.Unit);
            update.Parameters.Int("limit", Math.Max(cancel.Limit, 0));
            update.Parameters.Time("now", cancel.Now);
            batch.BatchCommands.Add(update);
            var any = Sql.BatchCommand(PostgreSqlSchema.AnyQueued);
            any.Parameters.Text("unit", cancel.Unit);
            batch.BatchCommands.Add(any);
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    cancelled.Add((reader.GetInt64(0), reader.GetString(1)));
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                more = reader.GetBoolean(0);
            }
        }

        cancelled.Sort(static (a, b) => a.Seq.CompareTo(b.Seq));
        var ids = new string[cancelled.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = cancelled[i].Id;
        }

        return new CancelledBatch(ids, more);
    }

    /// <inheritdoc />
    public async Task<int> RequeueExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        var requeued = 0;
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.RequeueExpired);
            command.Parameters.Time("now", now);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    requeued += reader.GetInt32(0);
                }
            }
        }

        if (requeued > 0)
        {
            LogRequeuedExpired(_logger, requeued);
        }

        return requeued;
    }


    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> PurgeAsync(PurgeParams purge, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(purge);
        if (purge.Limit <= 0)
        {
            return [];
        }

        EnsureOpen();
        var purged = new List<(DateTimeOffset CompletedAt, long Seq, string Id)>();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(
                connection,
                purge.State is not null ? PostgreSqlSchema.PurgeInState
                    : purge.KeepNewest is not null ? PostgreSqlSchema.PurgeKeeping
                    : PostgreSqlSchema.Purge);
            command.Parameters.Text("unit", purge.Unit);
            command.Parameters.Time("before", purge.CompletedBefore);
            command.Parameters.Int("limit", purge.Limit);
            if (purge.State is not null || purge.KeepNewest is not null)
            {
                command.Parameters.Int("keep", purge.KeepNewest ?? 0);
            }

            if (purge.State is { } state)
            {
                command.Parameters.Int("state", (int)state);
            }
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    purged.Add((Sql.ReadTime(reader, 1), reader.GetInt64(2), reader.GetString(0)));
                }
            }
        }

        purged.Sort(static (a, b) => a.CompletedAt != b.CompletedAt ? a.CompletedAt.CompareTo(b.CompletedAt) : a.Seq.CompareTo(b.Seq));
        var ids = new string[purged.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = purged[i].Id;
        }

        return ids;
    }


    /// <inheritdoc />
    public Task<string?> FindByDedupeKeyAsync(string dedupeKey, CancellationToken cancellationToken = default) => _reads.FindByDedupeKeyAsync(dedupeKey, cancellationToken);

    /// <inheritdoc />
    public Task<DateTimeOffset?> NextDueAsync(string unit, CancellationToken cancellationToken = default) => _reads.NextDueAsync(unit, cancellationToken);

    /// <inheritdoc />
    public Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken = default) => _reads.CountByStateAsync(unit, cancellationToken);

    /// <inheritdoc />
    public Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken = default) => _reads.GetAsync(requestId, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The page is read into memory (at most <see cref="PageParams.Limit"/> small summaries) before the first item
    /// is yielded, so a slow consumer never holds a connection.</remarks>
    public IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, CancellationToken cancellationToken = default) => _reads.PageAsync(page, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<RequestSummary> SearchAsync(SearchParams search, CancellationToken cancellationToken = default) => _reads.SearchAsync(search, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<DueCallback>> ClaimCallbacksAsync(CallbackClaim claim, CancellationToken cancellationToken = default) => _callbacks.ClaimCallbacksAsync(claim, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RecordCallbackAsync(CallbackDelivery delivery, CancellationToken cancellationToken = default) => _callbacks.RecordCallbackAsync(delivery, cancellationToken);

    /// <inheritdoc />
    public Task<CallbackStatus?> GetCallbackAsync(string requestId, CancellationToken cancellationToken = default) => _callbacks.GetCallbackAsync(requestId, cancellationToken);

    /// <inheritdoc />
    public Task HeartbeatAsync(NodeRecord node, DateTimeOffset forgetBefore, CancellationToken cancellationToken = default) => _nodes.HeartbeatAsync(node, forgetBefore, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default) => _nodes.ListNodesAsync(cancellationToken);

    /// <inheritdoc />
    public IDisposable Subscribe(Action<string> unitHasWork) => _signal.Subscribe(unitHasWork);

    /// <summary>Stops listening; the data source stays open (its owner disposes it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _signal.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Throws unless the store is initialized and not disposed.</summary>
    internal void EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (Volatile.Read(ref _initialized) == 0)
        {
            throw new InvalidOperationException("the PostgreSQL store is not initialized; call InitializeAsync first");
        }
    }

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Returned {Count} requests with expired leases to the queue")]
    private static partial void LogRequeuedExpired(ILogger logger, int count);
}
