namespace NanoRun.Runners;

/// <summary>Receives a copy of the bytes as a stream is read, in order.</summary>
internal interface IByteTap
{
    /// <summary>Takes the next bytes read; must not keep a reference to <paramref name="data"/>.</summary>
    void Append(ReadOnlySpan<byte> data);
}

/// <summary>A read-only stream that hands every byte it reads to a tap, so one pass both stores and observes a body.</summary>
internal sealed class TappedStream : ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly IByteTap _tap;

    public TappedStream(Stream inner, IByteTap tap)
    {
        _inner = inner;
        _tap = tap;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read > 0)
        {
            _tap.Append(buffer.Span[..read]);
        }

        return read;
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = _inner.Read(buffer, offset, count);
        if (read > 0)
        {
            _tap.Append(buffer.AsSpan(offset, read));
        }

        return read;
    }
}
