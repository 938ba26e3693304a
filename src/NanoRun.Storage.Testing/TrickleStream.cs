namespace NanoRun.Storage.Testing;

/// <summary>A read-only stream that hands out its data at most <paramref name="chunk"/> bytes per read, and can run a
/// callback after a number of reads (to cancel a copy midway or fail the source).</summary>
/// <param name="data">The whole content.</param>
/// <param name="chunk">Most bytes handed out per read.</param>
/// <param name="afterReads">The read (1-based) before which <paramref name="onRead"/> runs; never by default.</param>
/// <param name="onRead">Runs once, before read number <paramref name="afterReads"/>; an exception it throws fails that read.</param>
public sealed class TrickleStream(byte[] data, int chunk, int afterReads = int.MaxValue, Action? onRead = null) : Stream
{
    private int _position;
    private int _reads;

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        if (++_reads == afterReads)
        {
            onRead?.Invoke();
        }

        var n = Math.Min(Math.Min(chunk, buffer.Length), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return Read(buffer.Span);
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
