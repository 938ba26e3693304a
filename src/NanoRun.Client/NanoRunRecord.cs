namespace NanoRun.Client;

/// <summary>A request's record as <c>GET /api/{unit}/{id}</c> returns it.</summary>
public sealed class NanoRunRecord
{
    /// <summary>The request id (<c>X-Correlation-Id</c>).</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The unit the request belongs to.</summary>
    public string Unit { get; init; } = string.Empty;

    /// <summary>When the request was saved.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the request became final, or <c>null</c> while it is processing.</summary>
    public DateTimeOffset? CompleteAt { get; init; }

    /// <summary>Whether the request is final: succeeded, failed or cancelled.</summary>
    public bool Complete { get; init; }

    /// <summary>The state: <c>queued</c>, <c>running</c>, <c>retrying</c>, <c>succeeded</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public string Outcome { get; init; } = string.Empty;

    /// <summary>HTTP method of the saved request.</summary>
    public string Method { get; init; } = string.Empty;

    /// <summary>Path and query of the saved request.</summary>
    public string Uri { get; init; } = string.Empty;

    /// <summary>Headers of the saved request, by name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Headers { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The attempts so far, oldest first.</summary>
    public IReadOnlyList<NanoRunAttempt> Attempts { get; init; } = [];

    /// <summary>Whether the request finished successfully (an attempt answered below 500).</summary>
    public bool Succeeded => Outcome == "succeeded";

    /// <summary>The last attempt, or <c>null</c> when none has run.</summary>
    public NanoRunAttempt? LastAttempt => Attempts.Count > 0 ? Attempts[^1] : null;
}

/// <summary>One attempt inside a <see cref="NanoRunRecord"/>.</summary>
public sealed class NanoRunAttempt
{
    /// <summary>The attempt id (<c>X-Attempt-Id</c>).</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The HTTP status the attempt produced; 500 and above is a failure.</summary>
    public int Code { get; init; }

    /// <summary>The attempt's response headers, by name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Headers { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>When the attempt started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When the attempt finished.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>How long the attempt ran, in milliseconds.</summary>
    public long DurationMs { get; init; }

    /// <summary>Length of the stored result body in bytes.</summary>
    public long ResultLength { get; init; }
}
