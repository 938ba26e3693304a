namespace NanoRun.Jobs;

/// <summary>
/// One attempt of an in-process unit: the saved request (method, path, query, headers, body stream) and the
/// response being written (status, headers, body stream straight to the result store).
/// </summary>
public sealed class JobContext
{
    private readonly List<KeyValuePair<string, string>> _responseHeaders = [];

    internal JobContext(
        string unit,
        string requestId,
        string attemptId,
        int attempt,
        string method,
        string uri,
        IReadOnlyList<KeyValuePair<string, string>> headers,
        Stream requestBody,
        Stream responseBody,
        IServiceProvider services)
    {
        Unit = unit;
        RequestId = requestId;
        AttemptId = attemptId;
        Attempt = attempt;
        Method = method;
        var question = uri.IndexOf('?', StringComparison.Ordinal);
        Path = question < 0 ? uri : uri[..question];
        Query = question < 0 ? string.Empty : uri[question..];
        Headers = headers;
        RequestBody = requestBody;
        ResponseBody = responseBody;
        Services = services;
    }

    /// <summary>The unit name.</summary>
    public string Unit { get; }

    /// <summary>The request id (<c>X-Correlation-Id</c>).</summary>
    public string RequestId { get; }

    /// <summary>This attempt's id (<c>X-Attempt-Id</c>).</summary>
    public string AttemptId { get; }

    /// <summary>This attempt's 1-based number (<c>X-Attempt</c>).</summary>
    public int Attempt { get; }

    /// <summary>
    /// Who enqueued the request: the caller's principal as the web layer authorized it (<c>jwt:{subject}</c>,
    /// <c>basic:{login}</c>, <c>hmac:{unit}</c>, <c>ui:{login}</c> for the UI form, or <c>token:sha256:{first 16 hex digits of the token's hash}</c>), or what a
    /// library host passed in <c>EnqueueOptions.Principal</c>; <c>null</c> for an anonymous caller or a schedule.
    /// A retry or replay carries the principal of whoever asked for it.
    /// </summary>
    public string? Principal { get; internal init; }

    /// <summary>HTTP method of the saved request.</summary>
    public string Method { get; }

    /// <summary>Path of the saved request, such as <c>/api/resize/</c>.</summary>
    public string Path { get; }

    /// <summary>Query string of the saved request including its <c>?</c>, or empty.</summary>
    public string Query { get; }

    /// <summary>Header pairs of the saved request in arrival order; a name may repeat.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The saved request body, streamed from the store; read it at most once.</summary>
    public Stream RequestBody { get; }

    /// <summary>
    /// The attempt's status; when left <c>null</c> it is 200 if anything was written to <see cref="ResponseBody"/>
    /// and 204 otherwise. 500 and above is a failed attempt, retried after the unit's interval.
    /// </summary>
    public int? StatusCode { get; set; }

    /// <summary>Response headers stored with the attempt; add pairs, names may repeat.</summary>
    public IList<KeyValuePair<string, string>> ResponseHeaders => _responseHeaders;

    /// <summary>The result body: what is written here streams to the result store (it is never held whole in memory).</summary>
    public Stream ResponseBody { get; }

    /// <summary>Services of a scope created for this attempt alone and disposed after it.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The first value of request header <paramref name="name"/> (case-insensitive), or <c>null</c>.</summary>
    public string? Header(string name)
    {
        foreach (var pair in Headers)
        {
            if (pair.Key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return pair.Value;
            }
        }

        return null;
    }

    internal List<KeyValuePair<string, string>> CollectedHeaders => _responseHeaders;
}

/// <summary>Processes the requests of an in-process unit; resolved from a fresh DI scope for every attempt.</summary>
public interface IJobHandler
{
    /// <summary>Handles one attempt; an exception makes it a failed (500) attempt, retried like any other.</summary>
    /// <param name="job">The saved request and the response to write.</param>
    /// <param name="cancellationToken">Fires when the request is cancelled, the unit's timeout passes or the host stops.</param>
    Task HandleAsync(JobContext job, CancellationToken cancellationToken);
}
