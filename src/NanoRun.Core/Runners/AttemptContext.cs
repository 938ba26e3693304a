using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Runners;

/// <summary>Everything a runner needs for one attempt.</summary>
/// <param name="Unit">The unit definition in force for this attempt.</param>
/// <param name="RequestId">Request id (<c>X-Correlation-Id</c>).</param>
/// <param name="AttemptId">Attempt id (<c>X-Attempt-Id</c>); results are stored under request and attempt.</param>
/// <param name="AttemptNumber">1-based attempt number (<c>X-Attempt</c>).</param>
/// <param name="Method">HTTP method of the saved request.</param>
/// <param name="Uri">Path and query of the saved request.</param>
/// <param name="Headers">Header pairs of the saved request.</param>
/// <param name="Body">The saved body.</param>
/// <param name="Blobs">Where the body is read from and the result written to.</param>
/// <param name="RemoteAddress">The client's IP address saved at enqueue, or <c>null</c> when unknown.</param>
internal sealed record AttemptContext(
    UnitDefinition Unit,
    string RequestId,
    string AttemptId,
    int AttemptNumber,
    string Method,
    string Uri,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    BodyRef Body,
    IBlobStore Blobs,
    string? RemoteAddress = null)
{
    /// <summary>The blob key of this attempt's result.</summary>
    public string ResultKey => $"{RequestId}/{AttemptId}";

    /// <summary>Receives the result body as it is produced, for live readers; default <c>null</c>.</summary>
    public IByteTap? Output { get; init; }

    /// <summary>Who enqueued the request, or <c>null</c> (anonymous, or a schedule); default <c>null</c>.</summary>
    public string? Principal { get; init; }

    /// <summary>The result stream a runner stores: <paramref name="result"/>, copied to <see cref="Output"/> as it is read.</summary>
    public Stream Observed(Stream result) => Output is { } tap ? new TappedStream(result, tap) : result;
}

/// <summary>What an attempt produced; expected failures (a crashed script) are results with status 502, not exceptions.</summary>
/// <param name="Code">HTTP status.</param>
/// <param name="Headers">Response headers (bin mode: <c>X-Return-Code</c>).</param>
/// <param name="Result">The stored result body.</param>
internal sealed record AttemptResult(int Code, IReadOnlyList<KeyValuePair<string, string>> Headers, BodyRef Result);

/// <summary>Runs one attempt of a request in one mode.</summary>
internal interface IAttemptRunner
{
    /// <summary>Runs the attempt; <paramref name="cancellationToken"/> aborts it (the process group is killed) and still yields a result.</summary>
    Task<AttemptResult> RunAsync(AttemptContext context, CancellationToken cancellationToken);
}
