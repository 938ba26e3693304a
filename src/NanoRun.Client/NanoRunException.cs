using System.Net;

namespace NanoRun.Client;

/// <summary>Why a Nano-Run server refused or could not answer a call.</summary>
public enum NanoRunError
{
    /// <summary>An answer the client does not expect; see <see cref="NanoRunException.StatusCode"/>.</summary>
    Unexpected,

    /// <summary>401: the unit needs credentials and none (or wrong ones) were sent.</summary>
    Unauthorized,

    /// <summary>403: the credentials were understood and refused.</summary>
    Forbidden,

    /// <summary>404: no such public unit, or no such request in it.</summary>
    NotFound,

    /// <summary>410: the saved body of the request to retry is no longer stored.</summary>
    Gone,

    /// <summary>413: the body is larger than the unit's <c>max_request</c>; nothing was stored.</summary>
    TooLarge,

    /// <summary>425: the request is still processing, so it has no final result yet.</summary>
    NotFinished,

    /// <summary>503: the unit's queue is full or the server is low on disk; nothing was stored, try again later.</summary>
    Unavailable,

    /// <summary>507: the server ran out of disk space while saving the body; nothing was stored.</summary>
    InsufficientStorage,

    /// <summary>409: the call conflicts with the request's state, such as cancelling a request that already finished.</summary>
    Conflict,
}

/// <summary>Thrown when a Nano-Run server refuses a call; the message names the unit, the status and the server's reason.</summary>
public sealed class NanoRunException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NanoRunException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public NanoRunException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public NanoRunException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a refused call.</summary>
    /// <param name="error">The kind of refusal.</param>
    /// <param name="statusCode">The HTTP status the server answered.</param>
    /// <param name="message">What went wrong, for people.</param>
    /// <param name="retryAfter">The server's <c>Retry-After</c> hint, when it sent one.</param>
    public NanoRunException(NanoRunError error, HttpStatusCode statusCode, string message, TimeSpan? retryAfter = null)
        : base(message)
    {
        Error = error;
        StatusCode = statusCode;
        RetryAfter = retryAfter;
    }

    /// <summary>The kind of refusal.</summary>
    public NanoRunError Error { get; }

    /// <summary>The HTTP status the server answered.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The server's <c>Retry-After</c> hint (503, 507), or <c>null</c>.</summary>
    public TimeSpan? RetryAfter { get; }
}
