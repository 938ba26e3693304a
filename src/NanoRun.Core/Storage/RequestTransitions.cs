using NanoRun.Requests;

namespace NanoRun.Storage;

/// <summary>The request state machine every <see cref="IRequestStore"/> obeys: which transitions are legal, who may make
/// them, how attempts are numbered and which states are final.</summary>
/// <remarks>
/// <para>The only transitions a store makes, each atomic:</para>
/// <list type="table">
/// <listheader><term>Call</term><description>Transition</description></listheader>
/// <item><term><see cref="IRequestStore.EnqueueAsync"/></term><description>(new) → <see cref="RequestState.Queued"/>, due at once.</description></item>
/// <item><term><see cref="IRequestStore.ClaimAsync"/></term><description><see cref="IsClaimable"/> and due → <see cref="RequestState.Running"/> under the claimer's lease.</description></item>
/// <item><term><see cref="IRequestStore.RenewLeasesAsync"/></term><description><see cref="RequestState.Running"/> held by the caller (<see cref="HoldsLease"/>) → the same, with a later lease end.</description></item>
/// <item><term><see cref="IRequestStore.RecordAttemptAsync"/></term><description>see <see cref="RecordAttempt"/>: the attempt is always stored; the state moves only for the lease holder.</description></item>
/// <item><term><see cref="IRequestStore.ReleaseAsync"/></term><description><see cref="RequestState.Running"/> held by the caller → <see cref="RequestState.Queued"/>, no attempt counted.</description></item>
/// <item><term><see cref="IRequestStore.RequeueExpiredAsync"/></term><description><see cref="RequestState.Running"/> with a lease that ended → <see cref="RequestState.Queued"/>.</description></item>
/// <item><term><see cref="IRequestStore.CancelAsync"/></term><description><see cref="IsCancellable"/> → <see cref="RequestState.Cancelled"/>; a final request stays as it is.</description></item>
/// <item><term><see cref="IRequestStore.PurgeAsync"/></term><description>removes only <see cref="IsPurgeable"/> requests.</description></item>
/// </list>
/// <para>Leaving <see cref="RequestState.Running"/> clears the lease. A final state never changes again.</para>
/// </remarks>
public static class RequestTransitions
{
    /// <summary>Whether a request in <paramref name="state"/> may be claimed once due: <see cref="RequestState.Queued"/> or <see cref="RequestState.Retrying"/>.</summary>
    public static bool IsClaimable(RequestState state) => state is RequestState.Queued or RequestState.Retrying;

    /// <summary>Whether a request in <paramref name="state"/> may be cancelled: any state that is not final.</summary>
    public static bool IsCancellable(RequestState state) => !IsFinal(state);

    /// <summary>Whether <paramref name="state"/> is final (<see cref="RequestState.Succeeded"/>, <see cref="RequestState.Failed"/>
    /// or <see cref="RequestState.Cancelled"/>): it never changes again and the request has a completion time.</summary>
    public static bool IsFinal(RequestState state) => state.IsFinal();

    /// <summary>Whether a request in <paramref name="state"/> may be purged: final ones only.</summary>
    public static bool IsPurgeable(RequestState state) => IsFinal(state);

    /// <summary>Whether <paramref name="state"/> is a legal <see cref="AttemptOutcome.NextState"/>: <see cref="RequestState.Succeeded"/>,
    /// <see cref="RequestState.Failed"/> or <see cref="RequestState.Retrying"/>.</summary>
    public static bool IsAttemptOutcome(RequestState state) => state is RequestState.Succeeded or RequestState.Failed or RequestState.Retrying;

    /// <summary>Throws unless <paramref name="outcome"/> names a legal next state; stores call it before touching anything.</summary>
    /// <exception cref="ArgumentException">The next state is not one an attempt can lead to.</exception>
    public static void ValidateOutcome(AttemptOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (!IsAttemptOutcome(outcome.NextState))
        {
            throw new ArgumentException($"an attempt moves a request to succeeded, failed or retrying, not {outcome.NextState.ToWire()}", nameof(outcome));
        }
    }

    /// <summary>The lease-owner rule: whether <paramref name="leaseOwner"/> holds the lease of a request stored in
    /// <paramref name="state"/> with <paramref name="storedOwner"/>. Only a running request has a holder, compared ordinally.</summary>
    public static bool HoldsLease(RequestState state, string? storedOwner, string leaseOwner) =>
        state == RequestState.Running && string.Equals(storedOwner, leaseOwner, StringComparison.Ordinal);

    /// <summary>Attempt numbering: the number an attempt is stored under, given the number the runner proposed and the
    /// next free number of the request (one more than the highest stored, 1 when none).</summary>
    /// <remarks>A stale owner's attempt that raced a newer one gets the next free number, so numbers stay unique and
    /// every attempt is kept.</remarks>
    public static int AttemptNumber(int proposed, int nextFree) => Math.Max(proposed, nextFree);

    /// <summary>Decides what recording <paramref name="outcome"/> does to a request stored in <paramref name="state"/>
    /// under <paramref name="storedOwner"/>, whose next free attempt number is <paramref name="nextFreeNumber"/>.</summary>
    /// <remarks>The attempt is always stored and counted. The state moves to <see cref="AttemptOutcome.NextState"/> only when
    /// the outcome's owner holds the lease (<see cref="HoldsLease"/>); otherwise (a cancelled request, an expired and
    /// reclaimed lease) the state, lease and due time are left alone.</remarks>
    /// <exception cref="ArgumentException">The outcome's next state is not legal (<see cref="ValidateOutcome"/>).</exception>
    public static AttemptTransition RecordAttempt(RequestState state, string? storedOwner, int nextFreeNumber, AttemptOutcome outcome)
    {
        ValidateOutcome(outcome);
        var number = AttemptNumber(outcome.Attempt.Number, nextFreeNumber);
        if (!HoldsLease(state, storedOwner, outcome.LeaseOwner))
        {
            return new AttemptTransition(false, state, number, null, null);
        }

        var next = outcome.NextState;
        return new AttemptTransition(
            true,
            next,
            number,
            IsFinal(next) ? outcome.Attempt.CreatedAt : null,
            next == RequestState.Retrying ? outcome.NextRunAt : null);
    }

    /// <summary>The state <see cref="IRequestStore.CancelAsync"/> answers for a request stored in <paramref name="state"/>
    /// (<c>null</c> when unknown): <see cref="RequestState.Cancelled"/> when it may be cancelled, else the state it keeps.</summary>
    public static RequestState? Cancel(RequestState? state) =>
        state is { } current && IsCancellable(current) ? RequestState.Cancelled : state;
}

/// <summary>What recording one attempt does, as decided by <see cref="RequestTransitions.RecordAttempt"/>.</summary>
/// <param name="Applies">Whether the outcome moves the request: its owner holds the lease. When <c>false</c> only the attempt
/// is stored and counted.</param>
/// <param name="State">The state afterwards: the outcome's next state when it applies, else the stored one.</param>
/// <param name="Number">The number the attempt is stored under.</param>
/// <param name="CompletedAt">The completion time to store when the request becomes final, else <c>null</c>.</param>
/// <param name="NextRunAt">When a retrying request is due again, else <c>null</c> (the stored due time stays).</param>
public readonly record struct AttemptTransition(bool Applies, RequestState State, int Number, DateTimeOffset? CompletedAt, DateTimeOffset? NextRunAt);
