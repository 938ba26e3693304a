namespace NanoRun.Storage;

/// <summary>Delivery state of a request's completion callback.</summary>
public enum CallbackState
{
    /// <summary>Not delivered yet: due once the request is final, and again after each failed try until the limit.</summary>
    Pending,

    /// <summary>The receiver answered 2xx. Final.</summary>
    Delivered,

    /// <summary>Every allowed try failed. Final.</summary>
    Failed,

    /// <summary>Nothing to send: the outcome is not one the unit posts, or the unit no longer names a URL. Final.</summary>
    Skipped,
}

/// <summary>Durable completion callbacks, stored with their request; implemented by every provider beside <see cref="IRequestStore"/>.</summary>
/// <remarks>
/// A request enqueued with <see cref="NewRequest.Callback"/> starts <see cref="CallbackState.Pending"/>; its callback becomes
/// due when the request reaches a final state, so no extra write happens at completion and a crash cannot lose it.
/// </remarks>
public interface ICallbackStore
{
    /// <summary>
    /// Claims up to <see cref="CallbackClaim.Limit"/> pending callbacks of final requests that are due, oldest due first;
    /// each is not due again before <see cref="CallbackClaim.LeaseUntil"/>, so one node delivers it at a time.
    /// </summary>
    Task<IReadOnlyList<DueCallback>> ClaimCallbacksAsync(CallbackClaim claim, CancellationToken cancellationToken = default);

    /// <summary>Records the result of one delivery try; returns whether the request still exists.</summary>
    Task<bool> RecordCallbackAsync(CallbackDelivery delivery, CancellationToken cancellationToken = default);

    /// <summary>Returns the callback state of a request, or <c>null</c> when it has no callback or is unknown.</summary>
    Task<CallbackStatus?> GetCallbackAsync(string requestId, CancellationToken cancellationToken = default);
}

/// <summary>Parameters of a callback claim.</summary>
/// <param name="Limit">Most callbacks to claim.</param>
/// <param name="Now">Current time: callbacks due at or before it are eligible.</param>
/// <param name="LeaseUntil">When a claimed callback becomes due again unless its try is recorded first.</param>
public sealed record CallbackClaim(int Limit, DateTimeOffset Now, DateTimeOffset LeaseUntil);

/// <summary>A claimed callback.</summary>
/// <param name="RequestId">Request id.</param>
/// <param name="Unit">Unit name.</param>
/// <param name="Attempts">Delivery tries so far.</param>
public sealed record DueCallback(string RequestId, string Unit, int Attempts);

/// <summary>The result of one delivery try.</summary>
/// <param name="RequestId">Request id.</param>
/// <param name="State">State afterwards; <see cref="CallbackState.Pending"/> to try again at <paramref name="NextAt"/>.</param>
/// <param name="Attempts">Delivery tries so far, this one included.</param>
/// <param name="LastStatus">HTTP status the receiver answered, or <c>null</c> when it could not be reached.</param>
/// <param name="LastError">Why the try failed, or <c>null</c>.</param>
/// <param name="NextAt">When a pending callback is due again.</param>
public sealed record CallbackDelivery(string RequestId, CallbackState State, int Attempts, int? LastStatus, string? LastError, DateTimeOffset NextAt);

/// <summary>The stored callback state of a request.</summary>
/// <param name="State">Delivery state.</param>
/// <param name="Attempts">Delivery tries so far.</param>
/// <param name="LastStatus">HTTP status of the last try, or <c>null</c>.</param>
/// <param name="LastError">Why the last try failed, or <c>null</c>.</param>
/// <param name="NextAt">When a pending callback is due (once its request is final).</param>
public sealed record CallbackStatus(CallbackState State, int Attempts, int? LastStatus, string? LastError, DateTimeOffset NextAt);
