using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace NanoRun.Storage.Sqlite;

/// <summary>Group commit of enqueues: concurrent callers wait in a bounded channel and one loop inserts up to
/// <c>maxBatch</c> of them per transaction, releasing each caller only after the commit is durable.</summary>
internal sealed partial class SqliteGroupCommit(SqliteConnections db, ILogger logger, int maxBatch)
{
    private const int PendingCapacity = 1024;

    // Enqueues waiting for the loop; bounded so a flood waits instead of growing memory.
    private readonly Channel<PendingEnqueue> _pending = Channel.CreateBounded<PendingEnqueue>(new BoundedChannelOptions(PendingCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    private SqliteCommand? _insert;
    private SqliteCommand? _insertTerm;
    private Task? _loop;

    /// <summary>Prepares the insert on the just-opened <paramref name="writer"/> (under the write lock) and starts the loop.</summary>
    public void Start(SqliteConnection writer)
    {
        _insert = CreateInsertCommand(writer);
        _insertTerm = writer.CreateCommand();
        _insertTerm.CommandText = SqliteSchema.InsertTerm;
        _insertTerm.Parameters.Add("@unit", SqliteType.Text);
        _insertTerm.Parameters.Add("@term", SqliteType.Text);
        _insertTerm.Parameters.Add("@id", SqliteType.Text);
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>Hands <paramref name="request"/> to the loop and returns once its row is durable: <c>true</c> when added,
    /// <c>false</c> for a duplicate dedupe key. Once handed over the call no longer observes <paramref name="cancellationToken"/>.</summary>
    public async Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken)
    {
        var pending = new PendingEnqueue(request);
        try
        {
            await _pending.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException(nameof(SqliteRequestStore), e);
        }

        // Enqueue order: the caller committed the body before calling; this await returns after the row's commit is
        // durable; the caller acknowledges only after that.
        return await pending.Task.ConfigureAwait(false);
    }

    /// <summary>Refuses new enqueues and waits until those already handed over are committed.</summary>
    public async Task CompleteAsync()
    {
        _pending.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    /// <summary>Disposes the prepared insert; called under the write lock after <see cref="CompleteAsync"/>.</summary>
    public void DisposeCommand()
    {
        _insert?.Dispose();
        _insert = null;
        _insertTerm?.Dispose();
        _insertTerm = null;
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

    /// <summary>The loop: uses <see cref="_insert"/> only while it holds the write lock. Ends when the channel is
    /// completed on dispose, after committing what was already handed over.</summary>
    private async Task RunAsync()
    {
        var batch = new List<PendingEnqueue>(maxBatch);
        var reader = _pending.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < maxBatch && reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            var writer = await db.EnterWriteAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await CommitBatchAsync(writer, batch).ConfigureAwait(false);
            }
            catch (Exception e) when (batch.Count > 1)
            {
                // One bad request (a duplicate id) must not fail its neighbours: commit each on its own.
                LogBatchFailed(logger, e, batch.Count);
                foreach (var pending in batch)
                {
                    try
                    {
                        await CommitBatchAsync(writer, [pending]).ConfigureAwait(false);
                    }
                    catch (Exception single)
                    {
                        pending.TrySetException(single);
                    }
                }
            }
            catch (Exception e)
            {
                batch[0].TrySetException(e);
            }
            finally
            {
                db.ExitWrite();
            }

            batch.Clear();
        }
    }

    /// <summary>Inserts <paramref name="batch"/> in one transaction and completes its callers after the commit.</summary>
    private async Task CommitBatchAsync(SqliteConnection writer, List<PendingEnqueue> batch)
    {
        var insert = _insert!;
        var insertTerm = _insertTerm!;
        using (var transaction = writer.BeginTransaction())
        {
            insert.Transaction = transaction;
            insertTerm.Transaction = transaction;
            foreach (var pending in batch)
            {
                var request = pending.Request;
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
                    await InsertTermsAsync(insertTerm, request).ConfigureAwait(false);
                }
            }

            // Durability checkpoint: with synchronous=FULL, Commit returns after the WAL holds every row on disk. Only
            // then are the callers released to acknowledge.
            transaction.Commit();
        }

        insert.Transaction = null;
        insertTerm.Transaction = null;
        foreach (var pending in batch)
        {
            pending.TrySetResult(pending.Added);
        }
    }

    private static async Task InsertTermsAsync(SqliteCommand insertTerm, NewRequest request)
    {
        var terms = request.SearchTerms;
        for (var i = 0; i < terms.Count; i++)
        {
            insertTerm.Parameters[0].Value = request.Unit;
            insertTerm.Parameters[1].Value = terms[i];
            insertTerm.Parameters[2].Value = request.Id;
            await insertTerm.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Group commit of {Count} requests failed; committing them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    /// <summary>One enqueue waiting for its commit; continuations run off the commit loop.</summary>
    private sealed class PendingEnqueue(NewRequest request) : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public NewRequest Request { get; } = request;

        // Set by the commit loop before the commit; read only after it.
        public bool Added { get; set; }
    }
}
