namespace NanoRun.Storage;

/// <summary>Stream-only storage of request bodies and attempt results.</summary>
/// <remarks>
/// <para>A write goes to a temporary name, is flushed to disk, renamed into place and its folder flushed;
/// only then does it return a <see cref="BodyRef"/> that a record may point at.</para>
/// <para>Rules every provider follows (the conformance suite in the <c>NanoRun.Storage.Testing</c> package checks each):</para>
/// <list type="bullet">
/// <item>Keys and prefixes are checked before anything is touched: <see cref="BlobKeys.ThrowIfInvalidKey"/> in
/// <see cref="WriteAsync"/> and <see cref="BlobKeys.ThrowIfInvalidPrefix"/> in <see cref="DeletePrefixAsync"/>, each an
/// <see cref="ArgumentException"/>.</item>
/// <item>Bodies stream through: never buffer a whole body in memory. A provider may keep small bodies inline in the
/// returned <see cref="BodyRef"/> (<see cref="BodyRef.Key"/> <c>null</c>; the built-in ones do up to 4 KiB), and an empty
/// body may be <see cref="BodyRef.Empty"/>; a larger body is stored under its key and the returned reference carries that key.</item>
/// <item>The length limit is enforced while copying: past it the write throws <see cref="BodyTooLargeException"/> with
/// that limit and keeps nothing; a body of exactly the limit is accepted.</item>
/// <item>Cancellation is observed during the copy, not only before it: a cancelled write throws
/// <see cref="OperationCanceledException"/> and leaves nothing behind.</item>
/// <item>A missing blob reads as <c>null</c>; deleting a missing one is not an error.</item>
/// </list>
/// </remarks>
public interface IBlobStore
{
    /// <summary>Copies <paramref name="source"/> to durable storage under <paramref name="key"/>.</summary>
    /// <param name="key">Logical key of lower-case letters, digits, <c>/</c> and <c>.</c>, such as <c>{requestId}/body</c> (<see cref="BlobKeys.IsValidKey"/>).</param>
    /// <param name="source">The body; read to its end.</param>
    /// <param name="maxLength">Largest accepted length in bytes; 0 means unlimited.</param>
    /// <param name="cancellationToken">Cancels the copy; nothing is left behind.</param>
    /// <exception cref="BodyTooLargeException">The source is longer than <paramref name="maxLength"/>; nothing is kept.</exception>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not a valid key.</exception>
    /// <exception cref="OperationCanceledException">The copy was cancelled; nothing is kept.</exception>
    Task<BodyRef> WriteAsync(string key, Stream source, long maxLength, CancellationToken cancellationToken = default);

    /// <summary>Opens a stored body for reading, or returns <c>null</c> when it is gone.</summary>
    ValueTask<Stream?> OpenReadAsync(BodyRef body, CancellationToken cancellationToken = default);

    /// <summary>Deletes every blob whose key starts with <paramref name="prefix"/> (a request id); missing ones are ignored.</summary>
    /// <remarks>The prefix names whole first segments only: <c>ab</c> deletes <c>ab/body</c>, never <c>abc/body</c>.</remarks>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is not a valid prefix (<see cref="BlobKeys.IsValidPrefix"/>).</exception>
    Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>Thrown when a body is longer than the limit it is written under.</summary>
public sealed class BodyTooLargeException : IOException
{
    /// <summary>Creates the exception for the given limit in bytes.</summary>
    public BodyTooLargeException(long limit)
        : base($"body is larger than {limit} bytes") => Limit = limit;

    /// <summary>Creates the exception.</summary>
    public BodyTooLargeException()
        : base("body is too large")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public BodyTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public BodyTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The limit in bytes that was exceeded.</summary>
    public long Limit { get; }
}
