using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Runners;

/// <summary>Everything a runner needs for one attempt: the unit, the saved request and where its result goes.</summary>
public sealed class AttemptContext
{
    internal AttemptContext(
        UnitDefinition unit,
        string requestId,
        string attemptId,
        int attemptNumber,
        string method,
        string uri,
        IReadOnlyList<KeyValuePair<string, string>> headers,
        BodyRef body,
        IBlobStore blobs,
        string? remoteAddress = null)
    {
        Unit = unit;
        RequestId = requestId;
        AttemptId = attemptId;
        AttemptNumber = attemptNumber;
        Method = method;
        Uri = uri;
        Headers = headers;
        Body = body;
        Blobs = blobs;
        RemoteAddress = remoteAddress;
    }

    /// <summary>The unit definition in force for this attempt.</summary>
    public UnitDefinition Unit { get; }

    /// <summary>The request id (<c>X-Correlation-Id</c>).</summary>
    public string RequestId { get; }

    /// <summary>The attempt id (<c>X-Attempt-Id</c>).</summary>
    public string AttemptId { get; }

    /// <summary>The 1-based attempt number (<c>X-Attempt</c>).</summary>
    public int AttemptNumber { get; }

    /// <summary>The HTTP method of the saved request.</summary>
    public string Method { get; }

    /// <summary>The path and query of the saved request, such as <c>/api/resize/?size=2</c>.</summary>
    public string Uri { get; }

    /// <summary>The header pairs of the saved request.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The client's IP address saved at enqueue, or <c>null</c> when unknown.</summary>
    public string? RemoteAddress { get; }

    /// <summary>The length of the saved request body in bytes.</summary>
    public long BodyLength => Body.Length;

    /// <summary>The saved body.</summary>
    internal BodyRef Body { get; }

    /// <summary>Where the body is read from and the result written to.</summary>
    internal IBlobStore Blobs { get; }

    /// <summary>The blob key of this attempt's result.</summary>
    internal string ResultKey => $"{RequestId}/{AttemptId}";

    /// <summary>Receives the result body as it is produced, for live readers; default <c>null</c>.</summary>
    internal IByteTap? Output { get; init; }

    /// <summary>Keeps the tail of stderr and the runner's words on failures, or <c>null</c> when the unit keeps none (<c>max_stderr: 0</c>).</summary>
    internal StderrTail? Stderr { get; init; }

    /// <summary>The blob key of this attempt's kept stderr.</summary>
    internal string StderrKey => $"{RequestId}/{AttemptId}.stderr";

    /// <summary>Records, in words, why the runner failed the attempt (kept with the attempt's stderr).</summary>
    internal void ReportFailure(string words) => Stderr?.WriteLine(words);

    /// <summary>Opens the saved request body; an empty stream when the request has none. The caller disposes it.</summary>
    /// <param name="cancellationToken">Cancels opening the body.</param>
    public async ValueTask<Stream> OpenBodyAsync(CancellationToken cancellationToken = default) =>
        await Blobs.OpenReadAsync(Body, cancellationToken).ConfigureAwait(false) ?? Stream.Null;

    /// <summary>
    /// Stores <paramref name="result"/>, read to its end, as this attempt's result body, streaming it to live readers
    /// (<c>GET /api/{unit}/{id}/attempt/{attemptId}</c>) while it is read; the returned value goes into <see cref="AttemptResult.Body"/>.
    /// </summary>
    /// <param name="result">The result body; not disposed.</param>
    /// <param name="cancellationToken">Cancels the copy; nothing is kept.</param>
    public Task<BodyRef> StoreResultAsync(Stream result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Blobs.WriteAsync(ResultKey, Observed(result), 0, cancellationToken);
    }

    /// <summary>
    /// The W3C <c>traceparent</c> this attempt passes on (to a command as <c>TRACEPARENT</c>, to an upstream as the
    /// header): the attempt span's when traces are recorded, else the one the client sent; <c>null</c> when there is none.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>The W3C <c>tracestate</c> that goes with <see cref="TraceParent"/>, or <c>null</c>.</summary>
    public string? TraceState { get; init; }

    /// <summary>Who enqueued the request, or <c>null</c> (anonymous, or a schedule); default <c>null</c>.</summary>
    public string? Principal { get; init; }

    /// <summary>The result stream a runner stores: <paramref name="result"/>, copied to <see cref="Output"/> as it is read.</summary>
    internal Stream Observed(Stream result) => Output is { } tap ? new TappedStream(result, tap) : result;
}

/// <summary>What an attempt produced; expected failures (a crashed script) are results with a status such as 502, not exceptions.</summary>
public sealed class AttemptResult
{
    /// <summary>Creates a result.</summary>
    /// <param name="code">The HTTP status of the attempt, 100 to 599; 500 and above count as failed and are retried by default.</param>
    /// <param name="headers">The response headers of the attempt.</param>
    /// <param name="body">The stored result body from <see cref="AttemptContext.StoreResultAsync"/>, or <see cref="BodyRef.Empty"/>.</param>
    public AttemptResult(int code, IReadOnlyList<KeyValuePair<string, string>> headers, BodyRef body)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(body);
        Code = code;
        Headers = headers;
        Body = body;
    }

    /// <summary>The HTTP status of the attempt.</summary>
    public int Code { get; }

    /// <summary>The response headers of the attempt (bin mode: <c>X-Return-Code</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The stored result body.</summary>
    public BodyRef Body { get; }
}

/// <summary>
/// Runs one attempt of a request in one mode. A host adds a mode with <c>AddRunner("name", …)</c> on the builder
/// returned by <c>AddNanoRun</c>; units name it in <c>mode</c>. One instance serves every attempt of every unit of
/// its mode, concurrently.
/// </summary>
public interface IAttemptRunner
{
    /// <summary>
    /// Runs the attempt and returns its result; an expected failure is a result (such as 502), an exception means broken
    /// infrastructure. <paramref name="cancellationToken"/> fires when the attempt is aborted (shutdown or cancel), and
    /// the runner then stops its work promptly.
    /// </summary>
    /// <param name="context">The attempt: unit, saved request, where the result goes.</param>
    /// <param name="cancellationToken">Aborts the attempt.</param>
    Task<AttemptResult> RunAsync(AttemptContext context, CancellationToken cancellationToken);
}
