using System.Buffers;
using System.Text;
using NanoRun.Storage;

namespace NanoRun.Runners;

/// <summary>
/// The last bytes an attempt writes to stderr, up to a limit, together with the runner's own words on why the attempt
/// failed; filled while the attempt runs (by the stderr reader and the runner), stored once when it ends.
/// </summary>
internal sealed class StderrTail : IDisposable
{
    /// <summary>Starts every line the runner writes itself, so that it reads apart from the program's own output.</summary>
    public const string RunnerPrefix = "nano-run: ";

    private readonly int _limit;
    private readonly Lock _gate = new();

    // A ring of _limit bytes, rented on the first write: most attempts write nothing to stderr. Guarded by _gate.
    private byte[]? _ring;
    private long _written;
    private bool _disposed;

    /// <summary>Keeps up to <paramref name="limit"/> bytes, at least 1.</summary>
    public StderrTail(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _limit = limit;
    }

    /// <summary>Whether nothing was written.</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _written == 0;
            }
        }
    }

    /// <summary>Appends <paramref name="bytes"/>; only the last <c>limit</c> bytes of everything written are kept.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            if (_disposed || bytes.IsEmpty)
            {
                return;
            }

            _ring ??= ArrayPool<byte>.Shared.Rent(_limit);
            var skip = Math.Max(0, bytes.Length - _limit);
            _written += skip;
            bytes = bytes[skip..];
            while (!bytes.IsEmpty)
            {
                var position = (int)(_written % _limit);
                var count = Math.Min(bytes.Length, _limit - position);
                bytes[..count].CopyTo(_ring.AsSpan(position));
                bytes = bytes[count..];
                _written += count;
            }
        }
    }

    /// <summary>Appends one line of the runner's own words, such as why the command could not be started.</summary>
    public void WriteLine(string words)
    {
        ArgumentNullException.ThrowIfNull(words);
        Write(Encoding.UTF8.GetBytes(RunnerPrefix + words + "\n"));
    }

    /// <summary>Stores what is kept under <paramref name="key"/>; <see cref="BodyRef.Empty"/> when nothing was written.</summary>
    /// <remarks>Call once, after every writer has stopped: the ring is put in order in place.</remarks>
    public async Task<BodyRef> StoreAsync(IBlobStore blobs, string key, CancellationToken cancellationToken)
    {
        int length;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_ring is null || _written == 0)
            {
                return BodyRef.Empty;
            }

            length = (int)Math.Min(_written, _limit);
            if (_written > _limit)
            {
                // Rotate the full ring so that the oldest kept byte comes first.
                var start = (int)(_written % _limit);
                var ring = _ring.AsSpan(0, _limit);
                ring.Reverse();
                ring[..(_limit - start)].Reverse();
                ring[(_limit - start)..].Reverse();
                _written = _limit;
            }
        }

        using var content = new MemoryStream(_ring, 0, length, writable: false);
        return await blobs.WriteAsync(key, content, 0, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_ring is not null)
            {
                ArrayPool<byte>.Shared.Return(_ring);
                _ring = null;
            }
        }
    }
}
