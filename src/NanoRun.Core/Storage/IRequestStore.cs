namespace NanoRun.Storage;

/// <summary>Durable records and queue. Every call is atomic inside the provider; no transaction stays open while a runner works.</summary>
public interface IRequestStore
{
    /// <summary>Creates or migrates the schema and, for a single-node provider, returns requests left running by a previous process to the queue.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Saves a queued request whose body is already durable; returns <c>true</c> once the record is durable.</summary>
    /// <remarks>Returns <c>false</c> and stores nothing when a request with the same <see cref="NewRequest.DedupeKey"/> is already stored.</remarks>
    Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken = default);

    /// <summary>Returns the id of the stored request enqueued with <paramref name="dedupeKey"/>, or <c>null</c> when none is stored (never was, or purged).</summary>
    Task<string?> FindByDedupeKeyAsync(string dedupeKey, CancellationToken cancellationToken = default);

    /// <summary>Claims up to <see cref="ClaimParams.Limit"/> due requests of one unit under a lease, oldest due first, and marks them running.</summary>
    Task<IReadOnlyList<ClaimedRequest>> ClaimAsync(ClaimParams claim, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease of running requests held by <paramref name="leaseOwner"/>; returns how many were extended.</summary>
    Task<int> RenewLeasesAsync(IReadOnlyCollection<string> requestIds, string leaseOwner, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>Records an attempt and moves the request to its next state; returns the state it is in afterwards, or <c>null</c> when unknown.</summary>
    /// <remarks>The attempt is always recorded; a cancelled request stays cancelled.</remarks>
    Task<Requests.RequestState?> RecordAttemptAsync(AttemptOutcome outcome, CancellationToken cancellationToken = default);

    /// <summary>Returns a running request to the queue without an attempt (graceful shutdown); returns whether it was released.</summary>
    Task<bool> ReleaseAsync(string requestId, string leaseOwner, CancellationToken cancellationToken = default);

    /// <summary>Moves a request that is not final to <see cref="Requests.RequestState.Cancelled"/>; returns the state afterwards, or <c>null</c> when unknown.</summary>
    Task<Requests.RequestState?> CancelAsync(string requestId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Returns running requests whose lease ended before <paramref name="now"/> to the queue; returns how many.</summary>
    Task<int> RequeueExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Returns when the unit's next queued or retrying request is due, or <c>null</c> when none is waiting.</summary>
    Task<DateTimeOffset?> NextDueAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>Returns a request with its attempts, or <c>null</c> when unknown.</summary>
    Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>Returns one page of a unit's requests, newest first.</summary>
    IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, CancellationToken cancellationToken = default);

    /// <summary>Returns how many of a unit's stored requests are in each state.</summary>
    Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>Removes up to <see cref="PurgeParams.Limit"/> final requests and their attempts; returns the removed ids so their blobs can be deleted.</summary>
    Task<IReadOnlyList<string>> PurgeAsync(PurgeParams purge, CancellationToken cancellationToken = default);
}
