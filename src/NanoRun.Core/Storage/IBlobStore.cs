namespace NanoRun.Storage;

/// <summary>Stream-only storage of request bodies and attempt results.</summary>
/// <remarks>
/// A write goes to a temporary name, is flushed to disk, renamed into place and its folder flushed;
/// only then does it return a <see cref="BodyRef"/> that a record may point at.
/// </remarks>
public interface IBlobStore
{
    /// <summary>Copies <paramref name="source"/> to durable storage under <paramref name="key"/>.</summary>
    /// <param name="key">Logical key of lower-case letters, digits, <c>/</c> and <c>.</c>, such as <c>{requestId}/body</c>.</param>
    /// <param name="source">The body; read to its end.</param>
    /// <param name="maxLength">Largest accepted length in bytes; 0 means unlimited.</param>
    /// <param name="cancellationToken">Cancels the copy; nothing is left behind.</param>
    /// <exception cref="BodyTooLargeException">The source is longer than <paramref name="maxLength"/>; nothing is kept.</exception>
    Task<BodyRef> WriteAsync(string key, Stream source, long maxLength, CancellationToken cancellationToken = default);

    /// <summary>Opens a stored body for reading, or returns <c>null</c> when it is gone.</summary>
    ValueTask<Stream?> OpenReadAsync(BodyRef body, CancellationToken cancellationToken = default);

    /// <summary>Deletes every blob whose key starts with <paramref name="prefix"/> (a request id); missing ones are ignored.</summary>
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
