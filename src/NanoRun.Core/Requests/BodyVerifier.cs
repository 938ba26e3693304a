using NanoRun.Runners;

namespace NanoRun.Requests;

/// <summary>
/// Checks a request body as the engine streams it to storage (a signed webhook's HMAC); the request is queued only
/// when <see cref="Verify"/> passes after the last byte, otherwise its stored body is removed.
/// </summary>
internal abstract class BodyVerifier : IByteTap
{
    /// <inheritdoc />
    public abstract void Append(ReadOnlySpan<byte> data);

    /// <summary>Whether the whole body matched; called once, after the last byte.</summary>
    public abstract bool Verify();
}

/// <summary>Thrown by the engine when a <see cref="BodyVerifier"/> refuses a body; nothing is stored.</summary>
internal sealed class BodyRefusedException : Exception
{
    public BodyRefusedException()
        : base("the request body did not pass its check")
    {
    }

    public BodyRefusedException(string message)
        : base(message)
    {
    }

    public BodyRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
