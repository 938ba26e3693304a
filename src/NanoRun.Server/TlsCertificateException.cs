namespace NanoRun.Server;

/// <summary>The certificate or key named by <c>tls</c> in <c>server.yaml</c> cannot be loaded; the message names both files and the reason.</summary>
internal sealed class TlsCertificateException : Exception
{
    public TlsCertificateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
