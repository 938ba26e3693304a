using System.Data;
using System.Runtime.CompilerServices;
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
/// leases are live, and only expired leases return to the queue (<see cref="RequeueExpiredAsync"/>).
/// </remarks>
internal sealed partial class PostgreSqlRequestStore : IRequestStore, ICallbackStore, IQueueSignal, IAsyncDisposable
{
    private static readonly TimeSpan MaxListenBackoff = TimeSpan.FromSeconds(10);

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _subscribersLock = new();

    // Copy-on-write so notifications read the list without a lock.
    private Action<string>[] _subscribers = [];
    private Task? _listenLoop;
    private int _initialized;
    private int _disposed;

    public PostgreSqlRequestStore(NpgsqlDataSource dataSource, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
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

        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using (var command = Sql.Command(connection, PostgreSqlSchema.LockForMigration, transaction))
                {
                    command.Parameters.Long("lock", PostgreSqlSchema.MigrationLock);
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await ExecuteAsync(connection, transaction, PostgreSqlSchema.CreateVersionTable, cancellationToken).ConfigureAwait(false);
                int version;
                using (var command = Sql.Command(connection, PostgreSqlSchema.SelectVersion, transaction))
                {
                    var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    if (value is int current)
                    {
                        version = current;
                    }
                    else
                    {
                        version = 0;
                        await ExecuteAsync(connection, transaction, PostgreSqlSchema.InsertVersion, cancellationToken).ConfigureAwait(false);
                    }
                }

                var known = PostgreSqlSchema.Migrations.Length;
                if (version > known)
                {
                    throw new InvalidOperationException(
                        $"the PostgreSQL database has nano-run schema version {version}, newer than this build knows ({known}); upgrade nano-run on this node");
                }

                for (var i = version; i < known; i++)
                {
                    await ExecuteAsync(connection, transaction, PostgreSqlSchema.Migrations[i], cancellationToken).ConfigureAwait(false);
                }

                if (version < known)
                {
                    using var update = Sql.Command(connection, PostgreSqlSchema.UpdateVersion, transaction);
                    update.Parameters.Int("version", known);
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    LogMigrated(_logger, version, known);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        Volatile.Write(ref _initialized, 1);
        lock (_subscribersLock)
        {
            StartListeningIfNeeded();
        }
    }

    /// <inheritdoc />
    public async Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureOpen();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var batch = new NpgsqlBatch(connection);
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
            batch.BatchCommands.Add(insert);
            var notify = Sql.BatchCommand(PostgreSqlSchema.Notify);
            notify.Parameters.Text("unit", request.Unit);
            batch.BatchCommands.Add(notify);

            // Enqueue order: the caller committed the body before calling. The batch is one implicit transaction whose
            // commit returns only once the row is durable (synchronous_commit); the caller acknowledges after that, and
            // the NOTIFY goes out with the commit.
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return insert.RecordsAffected == 1;
        }
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
                        CreatedAt: Sql.ReadTime(reader, 12));
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
    public async Task<string?> FindByDedupeKeyAsync(string dedupeKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dedupeKey);
        EnsureOpen();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.SelectByDedupeKey);
            command.Parameters.Text("dedupe_key", dedupeKey);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }
    }

    /// <inheritdoc />
    public async Task<DateTimeOffset?> NextDueAsync(string unit, CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
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

    /// <inheritdoc />
    public async Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        var byState = new long[6];
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
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

    /// <inheritdoc />
    public async Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
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
                        Attempts: []);

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
                            CreatedAt: Sql.ReadTime(reader, 9)));
                    }

                    return record with { Attempts = list };
                }
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>The page is read into memory (at most <see cref="PageParams.Limit"/> small summaries) before the first item
    /// is yielded, so a slow consumer never holds a connection.</remarks>
    public async IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfLessThan(page.Limit, 1);
        EnsureOpen();
        var summaries = new List<RequestSummary>(Math.Min(page.Limit, 1000));
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
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
                        CompletedAt: Sql.ReadNullableTime(reader, 5)));
                }
            }
        }

        foreach (var summary in summaries)
        {
            yield return summary;
        }
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
    public IDisposable Subscribe(Action<string> unitHasWork)
    {
        ArgumentNullException.ThrowIfNull(unitHasWork);
        lock (_subscribersLock)
        {
            _subscribers = [.. _subscribers, unitHasWork];
            StartListeningIfNeeded();
        }

        return new Subscription(this, unitHasWork);
    }

    /// <summary>Stops listening; the data source stays open (its owner disposes it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_subscribersLock)
        {
            loop = _listenLoop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string text, CancellationToken cancellationToken)
    {
        using var command = Sql.Command(connection, text, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private void EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (Volatile.Read(ref _initialized) == 0)
        {
            throw new InvalidOperationException("the PostgreSQL store is not initialized; call InitializeAsync first");
        }
    }

    /// <summary>Starts the listen loop once the schema exists and someone listens; called under the subscribers lock.</summary>
    private void StartListeningIfNeeded()
    {
        if (_listenLoop is null && _subscribers.Length > 0 && Volatile.Read(ref _initialized) != 0 && _disposed == 0)
        {
            var stop = _stop.Token;
            _listenLoop = Task.Run(() => ListenAsync(stop), CancellationToken.None);
        }
    }

    /// <summary>Holds one connection on <c>LISTEN</c> and hands each notification to the subscribers; reconnects with a back-off.</summary>
    private async Task ListenAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(stop).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    connection.Notification += OnNotification;
                    using (var listen = Sql.Command(connection, PostgreSqlSchema.Listen))
                    {
                        await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                    }

                    backoff = TimeSpan.Zero;
                    while (true)
                    {
                        await connection.WaitAsync(stop).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Notifications sent meanwhile are lost; the engine's poll still finds that work.
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxListenBackoff.Ticks));
                LogListenFailed(_logger, e, backoff);
                try
                {
                    await Task.Delay(backoff, _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        var subscribers = Volatile.Read(ref _subscribers);
        foreach (var subscriber in subscribers)
        {
            try
            {
                subscriber(e.Payload);
            }
            catch (Exception error) when (error is ObjectDisposedException or InvalidOperationException)
            {
                // A subscriber that is shutting down; the others still hear the signal.
            }
        }
    }

    private void Unsubscribe(Action<string> unitHasWork)
    {
        lock (_subscribersLock)
        {
            var index = Array.IndexOf(_subscribers, unitHasWork);
            if (index >= 0)
            {
                _subscribers = [.. _subscribers[..index], .. _subscribers[(index + 1)..]];
            }
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Migrated the PostgreSQL schema from version {From} to {To}")]
    private static partial void LogMigrated(ILogger logger, int from, int to);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Returned {Count} requests with expired leases to the queue")]
    private static partial void LogRequeuedExpired(ILogger logger, int count);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Listening for queued work failed; retrying in {Backoff} (polling covers the gap)")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, TimeSpan backoff);

    private sealed class Subscription(PostgreSqlRequestStore store, Action<string> unitHasWork) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                store.Unsubscribe(unitHasWork);
            }
        }
    }
}
