using System.Buffers;
using System.Collections.Concurrent;
using NanoRun.Storage;

namespace NanoRun.Samples.InMemoryStore;

/// <summary>A blob store that keeps bodies in the process's memory: a sample of a store provider, not durable.</summary>
/// <remarks>Bodies up to <see cref="InlineThreshold"/> bytes are returned inline in the <see cref="BodyRef"/>; larger ones
/// are kept under their key. The copy enforces the length limit and observes cancellation between reads.</remarks>
public sealed class InMemoryBlobStore : IBlobStore
{
    /// <summary>Largest body, in bytes, returned inline instead of kept under its key: 4096.</summary>
    public const int InlineThreshold = 4096;

    private const int BufferSize = 16 * 1024;

    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<BodyRef> WriteAsync(string key, Stream source, long maxLength, CancellationToken cancellationToken = default)
    {
        BlobKeys.ThrowIfInvalidKey(key);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);

        using var copy = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                // A source may ignore the token; the copy checks it on every chunk.
                cancellationToken.ThrowIfCancellationRequested();
                if (maxLength > 0 && copy.Length + read > maxLength)
                {
                    throw new BodyTooLargeException(maxLength);
                }

                copy.Write(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var bytes = copy.ToArray();
        if (bytes.Length <= InlineThreshold)
        {
            return bytes.Length == 0 ? BodyRef.Empty : new BodyRef(null, bytes, bytes.Length);
        }

        _blobs[key] = bytes;
        return new BodyRef(key, null, bytes.Length);
    }

    /// <inheritdoc />
    public ValueTask<Stream?> OpenReadAsync(BodyRef body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.Key is null)
        {
            return ValueTask.FromResult<Stream?>(new MemoryStream(body.Inline ?? [], writable: false));
        }

        return ValueTask.FromResult<Stream?>(_blobs.TryGetValue(body.Key, out var bytes) ? new MemoryStream(bytes, writable: false) : null);
    }

    /// <inheritdoc />
    public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        BlobKeys.ThrowIfInvalidPrefix(prefix);
        var under = prefix + "/";
        foreach (var key in _blobs.Keys)
        {
            if (key.StartsWith(under, StringComparison.Ordinal))
            {
                _blobs.TryRemove(key, out _);
            }
        }

        return Task.CompletedTask;
    }
}
