namespace NanoRun.Storage;

/// <summary>Durable records and queue. Every call is atomic inside the provider; no transaction stays open while a runner works.</summary>
/// <remarks>
/// <para>Rules every provider follows (the conformance suite in the <c>NanoRun.Storage.Testing</c> package checks each):</para>
/// <list type="bullet">
/// <item>State changes follow <see cref="RequestTransitions"/> and nothing else: claim only claimable, due requests; move a
/// running request only for its lease holder; never change a final state; number attempts with
/// <see cref="RequestTransitions.AttemptNumber"/>. A provider that decides in code calls those methods.</item>
/// <item>Arrival order is the order in which <see cref="EnqueueAsync"/> stored the requests, not the order of their ids
/// or creation times (ids made in the same millisecond do not sort by arrival). Keep an increasing sequence number
/// per request: claims take the earliest due first and, among equally due, the earliest arrived; pages and
/// <see cref="PurgeParams.KeepNewest"/> go by arrival; a page's <see cref="PageParams.Before"/> cursor means "arrived
/// before that request".</item>
/// <item>"Not found" is <c>null</c> (or <c>false</c>, or an empty list), never an exception. Exceptions mean broken
/// infrastructure or a caller's bug (an illegal next state is an <see cref="ArgumentException"/>).</item>
/// <item>Times are stored to the millisecond and come back as UTC <see cref="DateTimeOffset"/> values equal to what was stored.</item>
/// <item>Header lists keep their order, duplicates and case exactly.</item>
/// <item>Every call except the one-time <see cref="InitializeAsync"/> may run concurrently with any other, on several
/// nodes when the store is shared; a request is claimed by one claimer only.</item>
/// <item>A store that is also an <see cref="ICallbackStore"/> keeps a request's callback state with the request and
/// drops it on purge; a shared store may implement <see cref="IQueueSignal"/>.</item>
/// </list>
/// </remarks>
public interface IRequestStore
{
    /// <summary>Creates or migrates the schema and, for a single-node provider, returns requests left running by a previous process to the queue.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Saves a queued request whose body is already durable; returns <c>true</c> once the record is durable.</summary>
    /// <remarks>The request is <see cref="Requests.RequestState.Queued"/>, due at <see cref="NewRequest.CreatedAt"/>, with no
    /// attempts, and last in arrival order. Returns <c>false</c> and stores nothing when a request with the same
    /// <see cref="NewRequest.DedupeKey"/> is already stored (also under concurrent calls: exactly one wins); a purged
    /// request frees its key.</remarks>
    Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken = default);

    /// <summary>Returns the id of the stored request enqueued with <paramref name="dedupeKey"/>, or <c>null</c> when none is stored (never was, or purged).</summary>
    Task<string?> FindByDedupeKeyAsync(string dedupeKey, CancellationToken cancellationToken = default);

    /// <summary>Claims up to <see cref="ClaimParams.Limit"/> due requests of one unit under a lease, oldest due first, and marks them running.</summary>
    /// <remarks>Due means <see cref="RequestTransitions.IsClaimable"/> with a due time at or before <see cref="ClaimParams.Now"/>;
    /// ties go by arrival order. The lease is durable before the call returns. A limit of 0 or less claims nothing.
    /// <see cref="ClaimedRequest.AttemptsSoFar"/> counts every attempt recorded so far.</remarks>
    Task<IReadOnlyList<ClaimedRequest>> ClaimAsync(ClaimParams claim, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease of running requests held by <paramref name="leaseOwner"/>; returns how many were extended.</summary>
    /// <remarks>Requests not held by <paramref name="leaseOwner"/> (<see cref="RequestTransitions.HoldsLease"/>) are skipped.</remarks>
    Task<int> RenewLeasesAsync(IReadOnlyCollection<string> requestIds, string leaseOwner, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>Records an attempt and moves the request to its next state; returns the state it is in afterwards, or <c>null</c> when unknown.</summary>
    /// <remarks>The attempt is always recorded, under the number <see cref="RequestTransitions.RecordAttempt"/> decides, and
    /// the request's attempt count grows by one; the state moves only when that decision applies (the outcome's owner
    /// holds the lease), so a cancelled request stays cancelled. The stored request and attempt change in one
    /// transaction.</remarks>
    /// <exception cref="ArgumentException">The outcome's next state is not succeeded, failed or retrying.</exception>
    Task<Requests.RequestState?> RecordAttemptAsync(AttemptOutcome outcome, CancellationToken cancellationToken = default);

    /// <summary>Returns a running request to the queue without an attempt (graceful shutdown); returns whether it was released.</summary>
    /// <remarks>Only the lease holder releases; the request keeps its due time and attempt count.</remarks>
    Task<bool> ReleaseAsync(string requestId, string leaseOwner, CancellationToken cancellationToken = default);

    /// <summary>Moves a request that is not final to <see cref="Requests.RequestState.Cancelled"/>; returns the state afterwards, or <c>null</c> when unknown.</summary>
    /// <remarks>The answer is <see cref="RequestTransitions.Cancel"/> of the stored state; cancelling sets the completion
    /// time to <paramref name="now"/> and clears the lease.</remarks>
    Task<Requests.RequestState?> CancelAsync(string requestId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Cancels up to <see cref="CancelQueuedParams.Limit"/> queued requests of a unit, earliest arrived first, in one transaction.</summary>
    /// <remarks>Only <see cref="Requests.RequestState.Queued"/> requests are touched (running and retrying ones are not);
    /// each gets <see cref="CancelQueuedParams.Now"/> as its completion time, as <see cref="CancelAsync"/> does. A limit of 0
    /// or less cancels nothing.</remarks>
    Task<CancelledBatch> CancelQueuedAsync(CancelQueuedParams cancel, CancellationToken cancellationToken = default);

    /// <summary>Returns running requests whose lease ended before <paramref name="now"/> to the queue; returns how many.</summary>
    Task<int> RequeueExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Returns when the unit's next queued or retrying request is due, or <c>null</c> when none is waiting.</summary>
    Task<DateTimeOffset?> NextDueAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>Returns a request with its attempts, or <c>null</c> when unknown.</summary>
    Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>Returns one page of a unit's requests, newest first.</summary>
    /// <remarks>Newest means latest in arrival order; <see cref="PageParams.Before"/> continues after the previous page's
    /// last id, and an unknown cursor yields nothing.</remarks>
    IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, CancellationToken cancellationToken = default);

    /// <summary>Returns one page of a unit's requests that match a search, newest first, in the shape and order of <see cref="PageAsync"/>.</summary>
    /// <remarks>A request matches when its id starts with <see cref="SearchParams.Text"/> or one of its
    /// <see cref="NewRequest.SearchTerms"/> equals it; both are read through indexes, never by scanning the unit.
    /// Purged requests and their terms are gone.</remarks>
    IAsyncEnumerable<RequestSummary> SearchAsync(SearchParams search, CancellationToken cancellationToken = default);

    /// <summary>Returns how many of a unit's stored requests are in each state.</summary>
    Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>Removes up to <see cref="PurgeParams.Limit"/> final requests and their attempts; returns the removed ids so their blobs can be deleted.</summary>
    /// <remarks>Only <see cref="RequestTransitions.IsPurgeable"/> requests completed before <see cref="PurgeParams.CompletedBefore"/>
    /// are removed, earliest completed first; the caller deletes their blobs.</remarks>
    Task<IReadOnlyList<string>> PurgeAsync(PurgeParams purge, CancellationToken cancellationToken = default);
}
