using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using NanoRun.Storage;

namespace NanoRun.Admission;

/// <summary>
/// Queues requests from the host's own code, through the same admission as an HTTP request (idempotency, <c>rate</c>,
/// <c>min_free_disk</c>, <c>max_queue</c>, disk full, <c>max_request</c>); the unit's worker is woken at once.
/// Registered by <c>AddNanoRun</c>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is the queue a host puts work on.")]
public interface INanoRunQueue
{
    /// <summary>
    /// Stores a request for <paramref name="unit"/> (private units included) and queues it; the id comes back only once
    /// body and record are durable. A refusal stores nothing and says why.
    /// </summary>
    /// <param name="unit">The unit's name; an unknown one is refused with <see cref="AdmissionOutcome.UnknownUnit"/>.</param>
    /// <param name="body">The request body, read to its end once; the caller owns and disposes it.</param>
    /// <param name="headers">Header pairs the unit sees, such as <c>Content-Type</c>; default none.</param>
    /// <param name="options">Method, path, idempotency key, principal and transaction; default <see cref="EnqueueOptions"/>'s defaults.</param>
    /// <param name="cancellationToken">Cancels the enqueue; a partial body is removed.</param>
    Task<EnqueueResult> EnqueueAsync(
        string unit,
        Stream body,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        EnqueueOptions? options = null,
        CancellationToken cancellationToken = default);
}

/// <summary>How <see cref="INanoRunQueue.EnqueueAsync"/> stores one request.</summary>
public sealed class EnqueueOptions
{
    /// <summary>The request's HTTP method as the unit sees it; default <c>POST</c>.</summary>
    public string Method { get; set; } = "POST";

    /// <summary>Path and query as the unit sees them; default <c>null</c>, meaning <c>/api/{unit}/</c>.</summary>
    public string? Uri { get; set; }

    /// <summary>
    /// A key of 1 to 255 visible ASCII characters: a second enqueue with the same key (and principal) answers the first
    /// request's id with <see cref="AdmissionOutcome.Replayed"/> and stores nothing; default <c>null</c>, no key.
    /// The key is shared with HTTP's <c>Idempotency-Key</c> header of the same caller.
    /// </summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>Who enqueues the request, as handler units read it in <c>JobContext.Principal</c>; default <c>null</c>.</summary>
    public string? Principal { get; set; }

    /// <summary>
    /// The earliest time of the request's first attempt, as HTTP's <c>?delay=</c> and <c>?at=</c> set it: the request is
    /// acknowledged now and its record shows the time; default <c>null</c>, attempted as soon as a worker is free.
    /// </summary>
    public DateTimeOffset? NotBefore { get; set; }

    /// <summary>
    /// Writes body and record inside a transaction the host owns, so they commit or roll back with the host's own data;
    /// set by a storage provider's extension (such as PostgreSQL's <c>EnqueueAsync(transaction, …)</c>); default <c>null</c>,
    /// each enqueue commits on its own.
    /// </summary>
    public IEnqueueTransaction? Transaction { get; set; }
}

/// <summary>
/// A storage provider's writer bound to a transaction the host owns: what it writes becomes visible, and the unit
/// runs the request, only when the host commits; a rollback leaves nothing.
/// </summary>
public interface IEnqueueTransaction
{
    /// <summary>Writes a request body inside the transaction, as <see cref="IBlobStore.WriteAsync"/> does.</summary>
    /// <exception cref="BodyTooLargeException">The source is longer than <paramref name="maxLength"/>.</exception>
    Task<BodyRef> WriteBodyAsync(string key, Stream source, long maxLength, CancellationToken cancellationToken);

    /// <summary>Inserts the record inside the transaction, as <see cref="IRequestStore.EnqueueAsync"/> does; <c>false</c> when the dedupe key exists.</summary>
    Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken);

    /// <summary>Removes the blobs written under <paramref name="requestId"/> inside the transaction.</summary>
    Task DeleteBodyAsync(string requestId, CancellationToken cancellationToken);
}

/// <summary>Body shapes for <see cref="INanoRunQueue"/>.</summary>
public static class NanoRunQueueExtensions
{
    /// <summary>Queues a request whose body is <paramref name="body"/>; see <see cref="INanoRunQueue.EnqueueAsync"/>.</summary>
    public static async Task<EnqueueResult> EnqueueAsync(
        this INanoRunQueue queue,
        string unit,
        ReadOnlyMemory<byte> body,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        EnqueueOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var stream = new ReadOnlyMemoryStream(body);
        await using (stream.ConfigureAwait(false))
        {
            return await queue.EnqueueAsync(unit, stream, headers, options, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Queues a request whose body is <paramref name="value"/> as JSON (<c>Content-Type: application/json</c> unless
    /// <paramref name="headers"/> name one); <paramref name="typeInfo"/> comes from a source-generated context, so it works under AOT.
    /// </summary>
    public static Task<EnqueueResult> EnqueueJsonAsync<T>(
        this INanoRunQueue queue,
        string unit,
        T value,
        JsonTypeInfo<T> typeInfo,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        EnqueueOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(typeInfo);
        var all = new List<KeyValuePair<string, string>>();
        var typed = false;
        foreach (var header in headers ?? [])
        {
            typed |= string.Equals(header.Key, "Content-Type", StringComparison.OrdinalIgnoreCase);
            all.Add(header);
        }

        if (!typed)
        {
            all.Add(new("Content-Type", "application/json"));
        }

        return queue.EnqueueAsync(unit, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), all, options, cancellationToken);
    }

    /// <summary>A read-only, seekable view of caller-owned memory.</summary>
    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> memory) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => memory.Length;

        public override long Position
        {
            get => _position;
            set => _position = (int)Math.Clamp(value, 0, memory.Length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, memory.Length - _position);
            memory.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => memory.Length + offset,
            };
            return _position;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
