namespace NanoRun.Requests;

/// <summary>The engine's own request envelope: method, URI, header pairs and a body stream.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Uri">Path and query as received.</param>
/// <param name="Headers">Header pairs in arrival order; a name may repeat.</param>
/// <param name="Body">The body, read once; the caller owns it.</param>
public sealed record IncomingRequest(
    string Method,
    string Uri,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    Stream Body)
{
    /// <summary>The client's IP address, saved with the request for CGI's <c>REMOTE_ADDR</c>; default <c>null</c> (unknown, such as a scheduled request).</summary>
    public string? RemoteAddress { get; init; }

    /// <summary>Who enqueues the request, stored with it for handler units (<c>JobContext.Principal</c>); default <c>null</c> (anonymous, or a schedule).</summary>
    public string? Principal { get; init; }

    /// <summary>The earliest time of the first attempt (a delayed request), or <c>null</c> (the default) to run as soon as a worker is free.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Checks the body while it is stored; default <c>null</c>, no check.</summary>
    public BodyVerifier? Verifier { get; init; }
}
