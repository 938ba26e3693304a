using NanoRun.Requests;

namespace NanoRun.Storage;

/// <summary>A request to save: its body is already durable in the blob store.</summary>
/// <param name="Id">New request id.</param>
/// <param name="Unit">Unit name.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Uri">Path and query as received.</param>
/// <param name="Headers">Header pairs.</param>
/// <param name="Body">The committed body.</param>
/// <param name="CreatedAt">When it was received.</param>
/// <param name="DedupeKey">
/// When set, the store keeps at most one request with this key: enqueueing it again is a no-op (a schedule's tick queued
/// by several nodes); default <c>null</c>, no de-duplication.
/// </param>
public sealed record NewRequest(
    string Id,
    string Unit,
    string Method,
    string Uri,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    BodyRef Body,
    DateTimeOffset CreatedAt,
    string? DedupeKey = null)
{
    /// <summary>Whether the request carries a completion callback, pending until delivered (see <see cref="ICallbackStore"/>); default <c>false</c>.</summary>
    public bool Callback { get; init; }

    /// <summary>Who enqueued the request, handed to the attempts that run it; default <c>null</c> (anonymous, or a schedule).</summary>
    public string? Principal { get; init; }

    /// <summary>
    /// The earliest time of the first attempt (a delayed request): the request is due then instead of at
    /// <see cref="CreatedAt"/>; default <c>null</c>, due at once.
    /// </summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>
    /// What search finds the request by besides its id (<see cref="Search.SearchTerms.For"/>): normalized header values,
    /// never credentials or bodies; default none.
    /// </summary>
    public IReadOnlyList<string> SearchTerms { get; init; } = [];
}

/// <summary>Parameters of a claim: up to <paramref name="Limit"/> due requests of one unit, leased to one node.</summary>
/// <param name="Unit">Unit name.</param>
/// <param name="Limit">Most requests to claim; the number of free worker slots.</param>
/// <param name="LeaseOwner">The claiming node's id.</param>
/// <param name="Now">Current time: requests due at or before it are eligible.</param>
/// <param name="LeaseUntil">When the lease expires unless renewed.</param>
public sealed record ClaimParams(string Unit, int Limit, string LeaseOwner, DateTimeOffset Now, DateTimeOffset LeaseUntil);

/// <summary>A request claimed for one attempt.</summary>
/// <param name="Id">Request id.</param>
/// <param name="Unit">Unit name.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Uri">Path and query.</param>
/// <param name="Headers">Header pairs.</param>
/// <param name="Body">The saved body.</param>
/// <param name="AttemptsSoFar">Attempts recorded before this claim.</param>
/// <param name="CreatedAt">When it was received.</param>
public sealed record ClaimedRequest(
    string Id,
    string Unit,
    string Method,
    string Uri,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    BodyRef Body,
    int AttemptsSoFar,
    DateTimeOffset CreatedAt)
{
    /// <summary>Who enqueued the request (<see cref="NewRequest.Principal"/>); default <c>null</c>.</summary>
    public string? Principal { get; init; }
}

/// <summary>The outcome of one attempt and the state the request moves to.</summary>
/// <param name="RequestId">Request id.</param>
/// <param name="LeaseOwner">The node that holds the lease; a stale owner's outcome is not applied.</param>
/// <param name="Attempt">The attempt to record.</param>
/// <param name="NextState">Succeeded, Failed or Retrying; ignored when the request was cancelled meanwhile.</param>
/// <param name="NextRunAt">When a retrying request is due again.</param>
public sealed record AttemptOutcome(
    string RequestId,
    string LeaseOwner,
    AttemptRecord Attempt,
    RequestState NextState,
    DateTimeOffset NextRunAt);

/// <summary>One stored attempt.</summary>
/// <param name="Id">Attempt id.</param>
/// <param name="Number">1-based attempt number.</param>
/// <param name="Code">HTTP status the attempt produced.</param>
/// <param name="Headers">Headers the attempt produced.</param>
/// <param name="Result">The result body.</param>
/// <param name="StartedAt">When the attempt started.</param>
/// <param name="CreatedAt">When the attempt finished and was recorded.</param>
public sealed record AttemptRecord(
    string Id,
    int Number,
    int Code,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    BodyRef Result,
    DateTimeOffset StartedAt,
    DateTimeOffset CreatedAt)
{
    /// <summary>
    /// The last bytes the attempt wrote to stderr, or the runner's words on why it failed (a command that could not
    /// start, malformed CGI headers, an upstream that could not be reached); default <see cref="BodyRef.Empty"/>.
    /// </summary>
    public BodyRef Stderr { get; init; } = BodyRef.Empty;
}

/// <summary>A stored request with its attempts.</summary>
/// <param name="Id">Request id.</param>
/// <param name="Unit">Unit name.</param>
/// <param name="State">Lifecycle state.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Uri">Path and query.</param>
/// <param name="Headers">Header pairs.</param>
/// <param name="Body">The saved body.</param>
/// <param name="CreatedAt">When it was received.</param>
/// <param name="UpdatedAt">Last change of state or attempts.</param>
/// <param name="CompletedAt">When it reached a final state, or <c>null</c>.</param>
/// <param name="Attempts">Attempts in order.</param>
public sealed record RequestRecord(
    string Id,
    string Unit,
    RequestState State,
    string Method,
    string Uri,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    BodyRef Body,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? CompletedAt,
    IReadOnlyList<AttemptRecord> Attempts)
{
    /// <summary>When the request was delayed, the earliest time of its first attempt (<see cref="NewRequest.NotBefore"/>); default <c>null</c>.</summary>
    public DateTimeOffset? NotBefore { get; init; }
}

/// <summary>One line of a history page.</summary>
/// <param name="Id">Request id.</param>
/// <param name="Unit">Unit name.</param>
/// <param name="State">Lifecycle state.</param>
/// <param name="AttemptCount">Attempts so far.</param>
/// <param name="CreatedAt">When it was received.</param>
/// <param name="CompletedAt">When it became final, or <c>null</c>.</param>
public sealed record RequestSummary(string Id, string Unit, RequestState State, int AttemptCount, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt)
{
    /// <summary>When the first attempt started, or <c>null</c> before any attempt was recorded; default <c>null</c>.</summary>
    public DateTimeOffset? FirstStartedAt { get; init; }

    /// <summary>The recorded attempts' durations added up (start to finish of each), without the waits between them; default zero.</summary>
    public TimeSpan Ran { get; init; }
}

/// <summary>A page of one unit's requests, newest first, after a keyset cursor.</summary>
/// <param name="Unit">Unit name.</param>
/// <param name="Limit">Page size.</param>
/// <param name="Before">Only requests older than this id (the previous page's last id), or <c>null</c> for the first page.</param>
/// <param name="State">Only requests in this state, or <c>null</c> for all.</param>
public sealed record PageParams(string Unit, int Limit, string? Before = null, RequestState? State = null);

/// <summary>How many of one unit's stored requests are in each state.</summary>
/// <param name="Queued">Waiting for their first attempt.</param>
/// <param name="Running">Claimed, with an attempt under way.</param>
/// <param name="Retrying">Waiting for another attempt after a failed one.</param>
/// <param name="Succeeded">Final: succeeded.</param>
/// <param name="Failed">Final: every allowed attempt failed.</param>
/// <param name="Cancelled">Final: cancelled.</param>
public sealed record StateCounts(long Queued, long Running, long Retrying, long Succeeded, long Failed, long Cancelled)
{
    /// <summary>No requests at all.</summary>
    public static StateCounts None { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>Requests waiting for an attempt: queued and retrying.</summary>
    public long Waiting => Queued + Retrying;
}

/// <summary>Which finished requests of a unit to remove; requests that are not final are never removed.</summary>
/// <param name="Unit">Unit name.</param>
/// <param name="CompletedBefore">Remove only final requests completed before this time.</param>
/// <param name="Limit">Most requests to remove in this call.</param>
/// <param name="State">Remove only requests in this final state, or any final state when <c>null</c>.</param>
/// <param name="KeepNewest">Spare the newest this many matching requests (by arrival), or none when <c>null</c>.</param>
public sealed record PurgeParams(string Unit, DateTimeOffset CompletedBefore, int Limit, RequestState? State = null, int? KeepNewest = null);
