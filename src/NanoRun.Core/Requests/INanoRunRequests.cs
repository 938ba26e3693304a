using NanoRun.Output;
using NanoRun.Storage;

namespace NanoRun.Requests;

/// <summary>
/// Reads and acts on stored requests, as the API and the UI do: records, pages of summaries, counts, the stored bodies
/// as streams, the output of a running attempt, completion callbacks, cancel and waiting for the end. Registered by
/// <c>AddNanoRun</c>; new requests, retries and replays go through <see cref="Admission.RequestAdmission"/> instead.
/// The caller decides who may see what; nothing here checks authorization.
/// </summary>
public interface INanoRunRequests
{
    /// <summary>The request's record with its attempts, or <c>null</c> when no request has that id.</summary>
    /// <param name="requestId">The request's id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>One page of a unit's requests, newest first, read from the store as it is enumerated (keyset paging).</summary>
    /// <param name="page">Unit, page size, cursor and state filter.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of a unit's requests that match a search, newest first and paged like <see cref="PageAsync"/>: by id or id
    /// prefix, or by a whole header value in any case (never a credential header, a body or the URI).
    /// </summary>
    /// <param name="search">Unit, search text (normalized here with <see cref="Search.SearchTerms.Normalize"/>), page size and cursor.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    IAsyncEnumerable<RequestSummary> SearchAsync(SearchParams search, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels up to <paramref name="limit"/> queued requests of <paramref name="unit"/>, earliest arrived first, in one
    /// store call; running and retrying requests are left alone. Returns the cancelled ids and whether queued requests remain.
    /// </summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="limit">Most requests to cancel, 1 to <see cref="Admission.RequestAdmission.MaxReplayBatch"/>.</param>
    /// <param name="cancellationToken">Cancels the call; the cancel may have been stored already.</param>
    Task<CancelledBatch> CancelQueuedAsync(string unit, int limit, CancellationToken cancellationToken = default);

    /// <summary>How many requests of <paramref name="unit"/> are stored in each state; an unknown unit counts zero.</summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a stored body (a request's <see cref="RequestRecord.Body"/> or an attempt's <see cref="AttemptRecord.Result"/>)
    /// for reading; <c>null</c> when retention removed it. The caller disposes the stream.
    /// </summary>
    /// <param name="body">The reference from the record.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    ValueTask<Stream?> OpenBodyAsync(BodyRef body, CancellationToken cancellationToken = default);

    /// <summary>The output of the request's attempt running on this node now, or <c>null</c> when none runs here.</summary>
    /// <param name="requestId">The request's id.</param>
    LiveOutput? FindRunning(string requestId);

    /// <summary>
    /// The completion callback's delivery state, or <c>null</c> when the request has none: its unit sends no callbacks
    /// and takes no <c>X-Callback-Url</c>, or the store keeps no callbacks.
    /// </summary>
    /// <param name="unit">The name of the request's unit.</param>
    /// <param name="requestId">The request's id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<CallbackStatus?> GetCallbackAsync(string unit, string requestId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a request: no further attempts, and an attempt running on this node is killed. Returns the state
    /// afterwards (a request already final keeps its state), or <c>null</c> when no request has that id.
    /// </summary>
    /// <param name="requestId">The request's id.</param>
    /// <param name="cancellationToken">Cancels the call; the cancel may have been stored already.</param>
    Task<RequestState?> CancelAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the request is final or <paramref name="timeout"/> passes, whichever is first; returns the last record
    /// seen, or <c>null</c> when no request has that id. A request finished on this node ends the wait at once; one
    /// finished by another node is seen at the next poll (<see cref="Queue.EngineOptions.PollInterval"/>).
    /// </summary>
    /// <param name="requestId">The request's id.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    Task<RequestRecord?> WaitForFinalAsync(string requestId, TimeSpan timeout, CancellationToken cancellationToken = default);
}
