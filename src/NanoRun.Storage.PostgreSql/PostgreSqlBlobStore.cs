using System.Buffers;
using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>Blob store in the shared database: small bodies are returned inline, larger ones become rows of fixed-size chunks.</summary>
/// <remarks>
/// A write inserts its chunks in one transaction and commits at the end: the commit is the "rename into place", so a
/// refused, cancelled or crashed write leaves nothing behind, and readers never see half a blob. Reads fetch one chunk
/// at a time on a pooled connection, so neither direction holds more than one chunk in memory.
/// </remarks>
internal sealed class PostgreSqlBlobStore : IBlobStore
{
    /// <summary>Bodies up to this many bytes ride inline in the record, as with the embedded store.</summary>
    internal const int DefaultInlineThreshold = 4096;

    /// <summary>Bytes per chunk row.</summary>
    /// <remarks>Large enough that per-row overhead (a round trip, a TOAST pointer) is small against the data, small enough
    /// that one pooled buffer per open stream stays well below the large object heap threshold times a few.</remarks>
    internal const int ChunkSize = 256 * 1024;

    private readonly NpgsqlDataSource _dataSource;
    private readonly int _inlineThreshold;

    public PostgreSqlBlobStore(NpgsqlDataSource dataSource, int inlineThreshold = DefaultInlineThreshold)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentOutOfRangeException.ThrowIfNegative(inlineThreshold);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(inlineThreshold, ChunkSize);
        _dataSource = dataSource;
        _inlineThreshold = inlineThreshold;
    }

    /// <inheritdoc />
    public Task<BodyRef> WriteAsync(string key, Stream source, long maxLength, CancellationToken cancellationToken = default) =>
        WriteAsync(key, source, maxLength, _inlineThreshold, _dataSource, null, cancellationToken);

    /// <summary>
    /// Writes a body inside <paramref name="transaction"/>, a transaction the host owns: the chunks become visible when the
    /// host commits. A refused or failed write is rolled back to a savepoint, so the host's transaction stays usable.
    /// </summary>
    internal static Task<BodyRef> WriteAsync(NpgsqlTransaction transaction, string key, Stream source, long maxLength, CancellationToken cancellationToken) =>
        WriteAsync(key, source, maxLength, DefaultInlineThreshold, null, transaction, cancellationToken);

    /// <summary>Deletes the blobs under <paramref name="prefix"/> (a request id) inside the host's <paramref name="transaction"/>.</summary>
    internal static async Task DeletePrefixAsync(NpgsqlTransaction transaction, string prefix, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection ?? throw new InvalidOperationException("the transaction is already completed");
        using var command = Sql.Command(connection, PostgreSqlSchema.DeletePrefix, transaction);
        command.Parameters.Text("low", prefix + "/");
        command.Parameters.Text("high", prefix + "0");
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<BodyRef> WriteAsync(string key, Stream source, long maxLength, int inlineThreshold, NpgsqlDataSource? dataSource, NpgsqlTransaction? hostTransaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        BlobKeys.ThrowIfInvalidKey(key);

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            // Read until the body is known to be larger than the inline threshold, or ends before it.
            var filled = 0;
            while (filled <= inlineThreshold)
            {
                var read = await source.ReadAsync(buffer.AsMemory(filled, ChunkSize - filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return filled == 0 ? BodyRef.Empty : new BodyRef(null, buffer.AsSpan(0, filled).ToArray(), filled);
                }

                filled += read;
                EnsureWithinLimit(filled, maxLength);
            }

            return hostTransaction is null
                ? await WriteChunksAsync(dataSource!, key, source, buffer, filled, maxLength, cancellationToken).ConfigureAwait(false)
                : await WriteChunksAsync(hostTransaction, key, source, buffer, filled, maxLength, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    public async ValueTask<Stream?> OpenReadAsync(BodyRef body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.Key is null)
        {
            // Inline bodies are at most the inline threshold, so a MemoryStream over them stays small.
            return new MemoryStream(body.Inline ?? [], writable: false);
        }

        var stream = new ChunkReadStream(_dataSource, body.Key, body.Length);
        try
        {
            // The first chunk tells whether the blob exists at all.
            if (await stream.FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return stream;
            }
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await stream.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    /// <inheritdoc />
    public async Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        BlobKeys.ThrowIfInvalidPrefix(prefix);

        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Sql.Command(connection, PostgreSqlSchema.DeletePrefix);
            command.Parameters.Text("low", prefix + "/");
            command.Parameters.Text("high", prefix + "0");
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether <paramref name="key"/> is a valid key; see <see cref="BlobKeys.IsValidKey"/>.</summary>
    internal static bool IsValidKey(string? key) => BlobKeys.IsValidKey(key);


    private static void EnsureWithinLimit(long length, long maxLength)
    {
        if (maxLength > 0 && length > maxLength)
        {
            throw new BodyTooLargeException(maxLength);
        }
    }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="source"/> starting at <paramref name="filled"/>; returns the new fill.</summary>
    private static async Task<int> FillAsync(Stream source, byte[] buffer, int filled, long total, long maxLength, CancellationToken cancellationToken)
    {
        while (filled < ChunkSize)
        {
            var read = await source.ReadAsync(buffer.AsMemory(filled, ChunkSize - filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
            EnsureWithinLimit(total + filled, maxLength);
        }

        return filled;
    }

    private static async Task<BodyRef> WriteChunksAsync(NpgsqlDataSource dataSource, string key, Stream source, byte[] buffer, int filled, long maxLength, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var total = await InsertChunksAsync(transaction, key, source, buffer, filled, maxLength, cancellationToken).ConfigureAwait(false);

                // Durability checkpoint: the commit returns once every chunk is on disk (synchronous_commit). Only now may
                // a record point at the key; before it, a failure or a crash leaves no row at all.
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new BodyRef(key, null, total);
            }
        }
    }

    private static async Task<BodyRef> WriteChunksAsync(NpgsqlTransaction transaction, string key, Stream source, byte[] buffer, int filled, long maxLength, CancellationToken cancellationToken)
    {
        // No commit here: the host's commit is the durability checkpoint of body and record together.
        const string Savepoint = "nano_run_body";
        await transaction.SaveAsync(Savepoint, cancellationToken).ConfigureAwait(false);
        try
        {
            var total = await InsertChunksAsync(transaction, key, source, buffer, filled, maxLength, cancellationToken).ConfigureAwait(false);
            await transaction.ReleaseAsync(Savepoint, cancellationToken).ConfigureAwait(false);
            return new BodyRef(key, null, total);
        }
        catch
        {
            await transaction.RollbackAsync(Savepoint, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<long> InsertChunksAsync(NpgsqlTransaction transaction, string key, Stream source, byte[] buffer, int filled, long maxLength, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;

        // A key written again replaces the old blob whole, as a rename over it would.
        using (var delete = Sql.Command(connection, PostgreSqlSchema.DeleteBlob, transaction))
        {
            delete.Parameters.Text("key", key);
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        using var insert = Sql.Command(connection, PostgreSqlSchema.InsertChunk, transaction);
        insert.Parameters.Text("key", key);
        var seq = new NpgsqlParameter<int>("seq", NpgsqlTypes.NpgsqlDbType.Integer);
        var data = new NpgsqlParameter<ReadOnlyMemory<byte>>("data", NpgsqlTypes.NpgsqlDbType.Bytea);
        insert.Parameters.Add(seq);
        insert.Parameters.Add(data);

        long total = 0;
        var number = 0;
        while (true)
        {
            filled = await FillAsync(source, buffer, filled, total, maxLength, cancellationToken).ConfigureAwait(false);
            if (filled == 0)
            {
                break;
            }

            seq.TypedValue = number++;
            data.TypedValue = buffer.AsMemory(0, filled);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            total += filled;
            if (filled < ChunkSize)
            {
                break;
            }

            filled = 0;
        }

        cancellationToken.ThrowIfCancellationRequested();
        return total;
    }

    /// <summary>Reads a chunked blob front to back, one chunk per query, through one pooled buffer.</summary>
    private sealed class ChunkReadStream(NpgsqlDataSource dataSource, string key, long length) : Stream
    {
        private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        private int _offset;
        private int _count;
        private int _nextChunk;
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        /// <summary>Loads the next chunk; returns <c>false</c> when there is none.</summary>
        public async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            var buffer = _buffer ?? throw new ObjectDisposedException(nameof(ChunkReadStream));
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = Sql.Command(connection, PostgreSqlSchema.SelectChunk);
                command.Parameters.Text("key", key);
                command.Parameters.Int("seq", _nextChunk);

                // Sequential access streams the column from the socket into our buffer instead of buffering the row.
                var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return false;
                    }

                    var column = await reader.GetStreamAsync(0, cancellationToken).ConfigureAwait(false);
                    await using (column.ConfigureAwait(false))
                    {
                        var count = 0;
                        while (count < ChunkSize)
                        {
                            var read = await column.ReadAsync(buffer.AsMemory(count, ChunkSize - count), cancellationToken).ConfigureAwait(false);
                            if (read == 0)
                            {
                                break;
                            }

                            count += read;
                        }

                        _offset = 0;
                        _count = count;
                        _nextChunk++;
                        return count > 0;
                    }
                }
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            if (destination.Length == 0 || _position >= length)
            {
                return 0;
            }

            if (_offset == _count && !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new IOException($"blob {key} ends after {_position} of {length} bytes");
            }

            var n = Math.Min(destination.Length, _count - _offset);
            _buffer.AsSpan(_offset, n).CopyTo(destination.Span);
            _offset += n;
            _position += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // Callers read asynchronously; this exists only because Stream requires it.
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            var buffer = Interlocked.Exchange(ref _buffer, null);
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            base.Dispose(disposing);
        }
    }
}
