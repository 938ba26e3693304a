using NanoRun.Admission;
using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>Enqueue inside the host's own PostgreSQL transaction.</summary>
public static class PostgreSqlNanoRunQueueExtensions
{
    /// <summary>
    /// Queues a request inside <paramref name="transaction"/>, which the host opened on the database nano-run stores in
    /// and commits or rolls back itself: body and record commit together with the host's own rows, and the unit runs the
    /// request only after the commit; after a rollback nothing of it remains and nothing runs. Admission (idempotency,
    /// <c>rate</c>, <c>max_queue</c>, <c>max_request</c>) is the same as <see cref="INanoRunQueue.EnqueueAsync"/>.
    /// </summary>
    /// <param name="queue">The queue registered by <c>AddNanoRun</c>.</param>
    /// <param name="transaction">The host's open transaction on the nano-run database.</param>
    /// <param name="unit">The unit's name.</param>
    /// <param name="body">The request body, read to its end once; the caller owns it.</param>
    /// <param name="headers">Header pairs the unit sees; default none.</param>
    /// <param name="options">Method, path, idempotency key and principal; its <see cref="EnqueueOptions.Transaction"/> is replaced.</param>
    /// <param name="cancellationToken">Cancels the enqueue.</param>
    public static Task<EnqueueResult> EnqueueAsync(
        this INanoRunQueue queue,
        NpgsqlTransaction transaction,
        string unit,
        Stream body,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        EnqueueOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(transaction);
        var bound = new EnqueueOptions
        {
            Method = options?.Method ?? "POST",
            Uri = options?.Uri,
            IdempotencyKey = options?.IdempotencyKey,
            Principal = options?.Principal,
            Transaction = new PostgreSqlEnqueueTransaction(transaction),
        };
        return queue.EnqueueAsync(unit, body, headers, bound, cancellationToken);
    }

    /// <summary>Writes body chunks and the record through the host's transaction.</summary>
    private sealed class PostgreSqlEnqueueTransaction(NpgsqlTransaction transaction) : IEnqueueTransaction
    {
        public Task<BodyRef> WriteBodyAsync(string key, Stream source, long maxLength, CancellationToken cancellationToken) =>
            PostgreSqlBlobStore.WriteAsync(transaction, key, source, maxLength, cancellationToken);

        public Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken) =>
            PostgreSqlRequestStore.EnqueueAsync(transaction, request, cancellationToken);

        public Task DeleteBodyAsync(string requestId, CancellationToken cancellationToken) =>
            PostgreSqlBlobStore.DeletePrefixAsync(transaction, requestId, cancellationToken);
    }
}
