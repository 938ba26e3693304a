using NanoRun.Runners;

namespace NanoRun.Requests;

/// <summary>
/// Checks a request body as the engine streams it to storage (a signed webhook's HMAC); the request is queued only
/// when <see cref="Verify"/> passes after the last byte, otherwise its stored body is removed.
/// </summary>
public abstract class BodyVerifier : IByteTap
{
    /// <inheritdoc />
    public abstract void Append(ReadOnlySpan<byte> data);

    /// <summary>Whether the whole body matched; called once, after the last byte.</summary>
    public abstract bool Verify();
}

/// <summary>Thrown by the engine when a <see cref="BodyVerifier"/> refuses a body; nothing is stored.</summary>
public sealed class BodyRefusedException : Exception
{
    /// <summary>Creates the exception with the standard message.</summary>
    public BodyRefusedException()
        : base("the request body did not pass its check")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public BodyRefusedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public BodyRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
