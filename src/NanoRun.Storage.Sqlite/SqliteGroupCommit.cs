using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using NanoRun.Requests;

namespace NanoRun.Storage.Sqlite;

/// <summary>Group commit of the store's durable writes, enqueues and attempt records: concurrent callers wait in a
/// bounded channel and one loop writes up to <c>maxBatch</c> of them per transaction, releasing each caller only after
/// the commit is durable. One fsync serves every write of the batch.</summary>
internal sealed partial class SqliteGroupCommit(SqliteConnections db, ILogger logger, int maxBatch)
{
    private const int PendingCapacity = 1024;

    // Writes waiting for the loop; bounded so a flood waits instead of growing memory.
    private readonly Channel<IPendingWrite> _pending = Channel.CreateBounded<IPendingWrite>(new BoundedChannelOptions(PendingCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    private SqliteCommand? _insert;
    private SqliteCommand? _insertTerm;
    private SqliteAttemptRecorder? _recorder;
    private Task? _loop;
    private long _commits;

    /// <summary>Transactions the loop has committed so far.</summary>
    public long Commits => Volatile.Read(ref _commits);

    /// <summary>Writes handed over and not yet taken into a batch.</summary>
    public int Pending => _pending.Reader.Count;

    /// <summary>Prepares the commands on the just-opened <paramref name="writer"/> (under the write lock) and starts the loop.</summary>
    public void Start(SqliteConnection writer)
    {
        _insert = CreateInsertCommand(writer);
        _insertTerm = writer.CreateCommand();
        _insertTerm.CommandText = SqliteSchema.InsertTerm;
        _insertTerm.Parameters.Add("@unit", SqliteType.Text);
        _insertTerm.Parameters.Add("@term", SqliteType.Text);
        _insertTerm.Parameters.Add("@id", SqliteType.Text);
        _recorder = SqliteAttemptRecorder.Prepare(writer);
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>Hands <paramref name="request"/> to the loop and returns once its row is durable: <c>true</c> when added,
    /// <c>false</c> for a duplicate dedupe key. Once handed over the call no longer observes <paramref name="cancellationToken"/>.</summary>
    public async Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken)
    {
        var pending = new PendingEnqueue(request);
        await SubmitAsync(pending, cancellationToken).ConfigureAwait(false);

        // Enqueue order: the caller committed the body before calling; this await returns after the row's commit is
        // durable; the caller acknowledges only after that.
        return await pending.Task.ConfigureAwait(false);
    }

    /// <summary>Hands <paramref name="outcome"/> to the loop and returns once the attempt and the request's next state are
    /// durable: that state, or <c>null</c> for an unknown request. Once handed over the call no longer observes
    /// <paramref name="cancellationToken"/>.</summary>
    public async Task<RequestState?> RecordAttemptAsync(AttemptOutcome outcome, CancellationToken cancellationToken)
    {
        var pending = new PendingRecord(outcome);
        await SubmitAsync(pending, cancellationToken).ConfigureAwait(false);

        // Durability checkpoint: this returns after the commit holding the attempt is on disk, so whoever learns of
        // the outcome from the caller (a waiting PUT, a callback) finds it in the store after any crash.
        return await pending.Task.ConfigureAwait(false);
    }

    /// <summary>Refuses new writes and waits until those already handed over are committed.</summary>
    public async Task CompleteAsync()
    {
        _pending.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    /// <summary>Disposes the prepared commands; called under the write lock after <see cref="CompleteAsync"/>.</summary>
    public void DisposeCommand()
    {
        _insert?.Dispose();
        _insert = null;
        _insertTerm?.Dispose();
        _insertTerm = null;
        _recorder?.Dispose();
        _recorder = null;
    }

    private async ValueTask SubmitAsync(IPendingWrite pending, CancellationToken cancellationToken)
    {
        try
        {
            await _pending.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException(nameof(SqliteRequestStore), e);
        }
    }

    private static SqliteCommand CreateInsertCommand(SqliteConnection writer)
    {
        var insert = writer.CreateCommand();
        insert.CommandText = SqliteSchema.InsertRequest;
        insert.Parameters.Add("@id", SqliteType.Text);
        insert.Parameters.Add("@unit", SqliteType.Text);
        insert.Parameters.Add("@method", SqliteType.Text);
        insert.Parameters.Add("@uri", SqliteType.Text);
        insert.Parameters.Add("@headers", SqliteType.Text);
        insert.Parameters.Add("@body_key", SqliteType.Text);
        insert.Parameters.Add("@body_inline", SqliteType.Blob);
        insert.Parameters.Add("@body_length", SqliteType.Integer);
        insert.Parameters.Add("@created_at", SqliteType.Integer);
        insert.Parameters.Add("@dedupe_key", SqliteType.Text);
        insert.Parameters.Add("@callback_state", SqliteType.Integer);
        insert.Parameters.Add("@principal", SqliteType.Text);
        insert.Parameters.Add("@not_before", SqliteType.Integer);
        return insert;
    }

    /// <summary>The loop: uses the prepared commands only while it holds the write lock. Ends when the channel is
    /// completed on dispose, after committing what was already handed over.</summary>
    private async Task RunAsync()
    {
        var batch = new List<IPendingWrite>(maxBatch);
        var reader = _pending.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            SqliteConnection writer;
            try
            {
                writer = await db.EnterWriteAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // The writer is gone (closed after a failure): nothing handed over can be committed.
                while (reader.TryRead(out var lost))
                {
                    lost.Fail(e);
                }

                continue;
            }

            try
            {
                // The batch is taken under the lock: whatever arrived while another write held it shares this commit.
                while (batch.Count < maxBatch && reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                await CommitBatchAsync(writer, batch).ConfigureAwait(false);
            }
            catch (Exception e) when (batch.Count > 1)
            {
                // One bad write (a duplicate id) must not fail its neighbours: commit each on its own.
                LogBatchFailed(logger, e, batch.Count);
                foreach (var pending in batch)
                {
                    try
                    {
                        await CommitBatchAsync(writer, [pending]).ConfigureAwait(false);
                    }
                    catch (Exception single)
                    {
                        pending.Fail(single);
                    }
                }
            }
            catch (Exception e)
            {
                batch[0].Fail(e);
            }
            finally
            {
                db.ExitWrite();
            }

            batch.Clear();
        }
    }

    /// <summary>Writes <paramref name="batch"/> in one transaction and completes its callers after the commit.</summary>
    private async Task CommitBatchAsync(SqliteConnection writer, List<IPendingWrite> batch)
    {
        try
        {
            using (var transaction = writer.BeginTransaction())
            {
                foreach (var pending in batch)
                {
                    await pending.WriteAsync(this, transaction).ConfigureAwait(false);
                }

                // Durability checkpoint: with synchronous=FULL, Commit returns after the WAL holds every write of the
                // batch on disk. Only then are the callers released to acknowledge.
                transaction.Commit();
            }

            Interlocked.Increment(ref _commits);
        }
        finally
        {
            _insert!.Transaction = null;
            _insertTerm!.Transaction = null;
            _recorder!.Detach();
        }

        foreach (var pending in batch)
        {
            pending.Committed();
        }
    }

    private async ValueTask InsertAsync(NewRequest request, SqliteTransaction transaction, PendingEnqueue pending)
    {
        var insert = _insert!;
        insert.Transaction = transaction;
        insert.Parameters[0].Value = request.Id;
        insert.Parameters[1].Value = request.Unit;
        insert.Parameters[2].Value = request.Method;
        insert.Parameters[3].Value = request.Uri;
        insert.Parameters[4].Value = HeaderCodec.Encode(request.Headers);
        insert.Parameters[5].Value = (object?)request.Body.Key ?? DBNull.Value;
        insert.Parameters[6].Value = request.Body.Key is null ? request.Body.Inline ?? [] : DBNull.Value;
        insert.Parameters[7].Value = request.Body.Length;
        insert.Parameters[8].Value = SqliteValues.Ms(request.CreatedAt);
        insert.Parameters[9].Value = (object?)request.DedupeKey ?? DBNull.Value;
        insert.Parameters[10].Value = request.Callback ? (int)CallbackState.Pending : DBNull.Value;
        insert.Parameters[11].Value = (object?)request.Principal ?? DBNull.Value;
        insert.Parameters[12].Value = request.NotBefore is { } notBefore ? SqliteValues.Ms(notBefore) : DBNull.Value;
        pending.Added = await insert.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
        if (pending.Added)
        {
            // The search terms commit with the row, so a request is findable exactly when it is stored.
            var insertTerm = _insertTerm!;
            insertTerm.Transaction = transaction;
            var terms = request.SearchTerms;
            for (var i = 0; i < terms.Count; i++)
            {
                insertTerm.Parameters[0].Value = request.Unit;
                insertTerm.Parameters[1].Value = terms[i];
                insertTerm.Parameters[2].Value = request.Id;
                await insertTerm.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Group commit of {Count} writes failed; committing them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    /// <summary>One write waiting for its commit.</summary>
    private interface IPendingWrite
    {
        /// <summary>Writes inside the batch's <paramref name="transaction"/>; may run again alone when the batch fails.</summary>
        ValueTask WriteAsync(SqliteGroupCommit commit, SqliteTransaction transaction);

        /// <summary>Releases the caller after the commit is durable.</summary>
        void Committed();

        /// <summary>Releases the caller with the failure.</summary>
        void Fail(Exception exception);
    }

    /// <summary>One enqueue waiting for its commit; continuations run off the commit loop.</summary>
    private sealed class PendingEnqueue(NewRequest request) : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously), IPendingWrite
    {
        // Set by the commit loop before the commit; read only after it.
        public bool Added { get; set; }

        public ValueTask WriteAsync(SqliteGroupCommit commit, SqliteTransaction transaction) => commit.InsertAsync(request, transaction, this);

        public void Committed() => TrySetResult(Added);

        public void Fail(Exception exception) => TrySetException(exception);
    }

    /// <summary>One attempt record waiting for its commit; continuations run off the commit loop.</summary>
    private sealed class PendingRecord(AttemptOutcome outcome) : TaskCompletionSource<RequestState?>(TaskCreationOptions.RunContinuationsAsynchronously), IPendingWrite
    {
        // Set by the commit loop before the commit; read only after it.
        private RequestState? _state;

        public async ValueTask WriteAsync(SqliteGroupCommit commit, SqliteTransaction transaction) =>
            _state = await commit._recorder!.RecordAsync(outcome, transaction).ConfigureAwait(false);

        public void Committed() => TrySetResult(_state);

        public void Fail(Exception exception) => TrySetException(exception);
    }
}
