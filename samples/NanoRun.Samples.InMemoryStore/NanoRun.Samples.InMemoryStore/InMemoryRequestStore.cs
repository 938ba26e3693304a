using System.Runtime.CompilerServices;
using NanoRun.Requests;
using NanoRun.Storage;

namespace NanoRun.Samples.InMemoryStore;

/// <summary>A request store that keeps everything in the process's memory: a sample of a store provider, not durable.</summary>
/// <remarks>
/// One lock guards all state, so every call is atomic. State changes are decided by <see cref="RequestTransitions"/>,
/// the rules every provider obeys; arrival order is an increasing sequence number given on enqueue.
/// </remarks>
/// <param name="time">Clock for bookkeeping times (releases).</param>
public sealed class InMemoryRequestStore(TimeProvider time) : IRequestStore, ICallbackStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _byDedupeKey = new(StringComparer.Ordinal);
    private long _sequence;

    /// <inheritdoc />
    /// <remarks>Nothing to create; memory does not outlive the process, so no lease survives it either.</remarks>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<bool> EnqueueAsync(NewRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            if (request.DedupeKey is { } key && _byDedupeKey.ContainsKey(key))
            {
                return Task.FromResult(false);
            }

            if (!_byId.TryAdd(request.Id, new Entry(request, ++_sequence)))
            {
                throw new InvalidOperationException($"request {request.Id} is already stored");
            }

            if (request.DedupeKey is { } added)
            {
                _byDedupeKey.Add(added, request.Id);
            }

            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<string?> FindByDedupeKeyAsync(string dedupeKey, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_byDedupeKey.GetValueOrDefault(dedupeKey));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ClaimedRequest>> ClaimAsync(ClaimParams claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        lock (_gate)
        {
            var due = _byId.Values
                .Where(e => e.Request.Unit == claim.Unit && RequestTransitions.IsClaimable(e.State) && e.NextRunAt <= claim.Now)
                .OrderBy(e => e.NextRunAt).ThenBy(e => e.Sequence)
                .Take(Math.Max(claim.Limit, 0))
                .ToList();
            var claimed = new List<ClaimedRequest>(due.Count);
            foreach (var entry in due)
            {
                entry.State = RequestState.Running;
                entry.LeaseOwner = claim.LeaseOwner;
                entry.LeaseUntil = claim.LeaseUntil;
                entry.UpdatedAt = claim.Now;
                var r = entry.Request;
                claimed.Add(new ClaimedRequest(r.Id, r.Unit, r.Method, r.Uri, r.Headers, r.Body, entry.Attempts.Count, r.CreatedAt));
            }

            return Task.FromResult<IReadOnlyList<ClaimedRequest>>(claimed);
        }
    }

    /// <inheritdoc />
    public Task<int> RenewLeasesAsync(IReadOnlyCollection<string> requestIds, string leaseOwner, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        lock (_gate)
        {
            var renewed = 0;
            foreach (var id in requestIds)
            {
                if (_byId.TryGetValue(id, out var entry) && RequestTransitions.HoldsLease(entry.State, entry.LeaseOwner, leaseOwner))
                {
                    entry.LeaseUntil = leaseUntil;
                    renewed++;
                }
            }

            return Task.FromResult(renewed);
        }
    }

    /// <inheritdoc />
    public Task<RequestState?> RecordAttemptAsync(AttemptOutcome outcome, CancellationToken cancellationToken = default)
    {
        RequestTransitions.ValidateOutcome(outcome);
        lock (_gate)
        {
            if (!_byId.TryGetValue(outcome.RequestId, out var entry))
            {
                return Task.FromResult<RequestState?>(null);
            }

            var nextFree = entry.Attempts.Count == 0 ? 1 : entry.Attempts.Max(a => a.Number) + 1;
            var transition = RequestTransitions.RecordAttempt(entry.State, entry.LeaseOwner, nextFree, outcome);
            entry.Attempts.Add(outcome.Attempt with { Number = transition.Number });
            entry.Attempts.Sort(static (a, b) => a.Number.CompareTo(b.Number));
            entry.UpdatedAt = outcome.Attempt.CreatedAt;
            if (transition.Applies)
            {
                entry.State = transition.State;
                entry.CompletedAt = transition.CompletedAt;
                entry.NextRunAt = transition.NextRunAt ?? entry.NextRunAt;
                entry.LeaseOwner = null;
                entry.LeaseUntil = null;
            }

            return Task.FromResult<RequestState?>(transition.State);
        }
    }

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(string requestId, string leaseOwner, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(requestId, out var entry) || !RequestTransitions.HoldsLease(entry.State, entry.LeaseOwner, leaseOwner))
            {
                return Task.FromResult(false);
            }

            entry.Requeue(time.GetUtcNow());
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<RequestState?> CancelAsync(string requestId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(requestId, out var entry))
            {
                return Task.FromResult<RequestState?>(null);
            }

            if (RequestTransitions.IsCancellable(entry.State))
            {
                entry.State = RequestState.Cancelled;
                entry.CompletedAt = now;
                entry.UpdatedAt = now;
                entry.LeaseOwner = null;
                entry.LeaseUntil = null;
            }

            return Task.FromResult(RequestTransitions.Cancel(entry.State));
        }
    }

    /// <inheritdoc />
    public Task<int> RequeueExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var requeued = 0;
            foreach (var entry in _byId.Values)
            {
                if (entry.State == RequestState.Running && entry.LeaseUntil < now)
                {
                    entry.Requeue(now);
                    requeued++;
                }
            }

            return Task.FromResult(requeued);
        }
    }

    /// <inheritdoc />
    public Task<DateTimeOffset?> NextDueAsync(string unit, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            DateTimeOffset? next = null;
            foreach (var entry in _byId.Values)
            {
                if (entry.Request.Unit == unit && RequestTransitions.IsClaimable(entry.State) && (next is null || entry.NextRunAt < next))
                {
                    next = entry.NextRunAt;
                }
            }

            return Task.FromResult(next);
        }
    }

    /// <inheritdoc />
    public Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_byId.TryGetValue(requestId, out var entry) ? entry.ToRecord() : null);
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(page);
        return NewestFirstAsync(page.Unit, page.Before, page.Limit, e => page.State is null || e.State == page.State, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<RequestSummary> SearchAsync(SearchParams search, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);

        // A scan is fine in memory; a durable store reads an index of ids and one of terms instead.
        return NewestFirstAsync(search.Unit, search.Before, search.Limit,
            e => e.Request.Id.StartsWith(search.Text, StringComparison.Ordinal) || e.Request.SearchTerms.Contains(search.Text, StringComparer.Ordinal),
            cancellationToken);
    }

    /// <summary>One page of a unit's matching requests, newest arrival first, after the keyset cursor <paramref name="before"/>.</summary>
    private async IAsyncEnumerable<RequestSummary> NewestFirstAsync(string unit, string? before, int limit, Func<Entry, bool> match, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<RequestSummary> summaries;
        lock (_gate)
        {
            // The cursor is a position in arrival order; a cursor naming no stored request yields nothing.
            var below = long.MaxValue;
            if (before is not null)
            {
                below = _byId.TryGetValue(before, out var cursor) ? cursor.Sequence : long.MinValue;
            }

            summaries = _byId.Values
                .Where(e => e.Request.Unit == unit && e.Sequence < below && match(e))
                .OrderByDescending(e => e.Sequence)
                .Take(limit)
                .Select(e => e.ToSummary())
                .ToList();
        }

        foreach (var summary in summaries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return summary;
        }
    }

    /// <inheritdoc />
    public Task<CancelledBatch> CancelQueuedAsync(CancelQueuedParams cancel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cancel);
        lock (_gate)
        {
            var queued = _byId.Values
                .Where(e => e.Request.Unit == cancel.Unit && e.State == RequestState.Queued)
                .OrderBy(e => e.Sequence)
                .ToList();
            var taken = queued.Take(Math.Max(cancel.Limit, 0)).ToList();
            foreach (var entry in taken)
            {
                entry.State = RequestState.Cancelled;
                entry.CompletedAt = cancel.Now;
                entry.UpdatedAt = cancel.Now;
            }

            return Task.FromResult(new CancelledBatch(taken.Select(e => e.Request.Id).ToList(), queued.Count > taken.Count));
        }
    }

    /// <inheritdoc />
    public Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var counts = new long[6];
            foreach (var entry in _byId.Values)
            {
                if (entry.Request.Unit == unit)
                {
                    counts[(int)entry.State]++;
                }
            }

            return Task.FromResult(new StateCounts(counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> PurgeAsync(PurgeParams purge, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(purge);
        lock (_gate)
        {
            var candidates = _byId.Values.Where(e =>
                e.Request.Unit == purge.Unit
                && RequestTransitions.IsPurgeable(e.State)
                && (purge.State is null || e.State == purge.State)
                && e.CompletedAt < purge.CompletedBefore);

            // By age: oldest completions first. Keeping the newest: skip the latest arrivals.
            var chosen = purge.State is null && purge.KeepNewest is null
                ? candidates.OrderBy(e => e.CompletedAt).ThenBy(e => e.Sequence).Take(Math.Max(purge.Limit, 0)).ToList()
                : candidates.OrderByDescending(e => e.Sequence).Skip(purge.KeepNewest ?? 0).Take(Math.Max(purge.Limit, 0)).ToList();

            var ids = new List<string>(chosen.Count);
            foreach (var entry in chosen.OrderBy(e => e.CompletedAt).ThenBy(e => e.Sequence))
            {
                _byId.Remove(entry.Request.Id);
                if (entry.Request.DedupeKey is { } key)
                {
                    _byDedupeKey.Remove(key);
                }

                ids.Add(entry.Request.Id);
            }

            return Task.FromResult<IReadOnlyList<string>>(ids);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DueCallback>> ClaimCallbacksAsync(CallbackClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        lock (_gate)
        {
            var due = _byId.Values
                .Where(e => e.Callback is { State: CallbackState.Pending } c && RequestTransitions.IsFinal(e.State) && c.NextAt <= claim.Now)
                .OrderBy(e => e.Callback!.NextAt).ThenBy(e => e.Sequence)
                .Take(Math.Max(claim.Limit, 0))
                .ToList();
            var claimed = new List<DueCallback>(due.Count);
            foreach (var entry in due)
            {
                entry.Callback = entry.Callback! with { NextAt = claim.LeaseUntil };
                claimed.Add(new DueCallback(entry.Request.Id, entry.Request.Unit, entry.Callback.Attempts));
            }

            return Task.FromResult<IReadOnlyList<DueCallback>>(claimed);
        }
    }

    /// <inheritdoc />
    public Task<bool> RecordCallbackAsync(CallbackDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        lock (_gate)
        {
            if (!_byId.TryGetValue(delivery.RequestId, out var entry) || entry.Callback is null)
            {
                return Task.FromResult(false);
            }

            entry.Callback = new CallbackStatus(delivery.State, delivery.Attempts, delivery.LastStatus, delivery.LastError, delivery.NextAt);
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<CallbackStatus?> GetCallbackAsync(string requestId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_byId.TryGetValue(requestId, out var entry) ? entry.Callback : null);
        }
    }

    /// <summary>One stored request; guarded by the store's lock.</summary>
    private sealed class Entry(NewRequest request, long sequence)
    {
        public NewRequest Request { get; } = request;

        /// <summary>Arrival order.</summary>
        public long Sequence { get; } = sequence;

        public RequestState State { get; set; } = RequestState.Queued;

        public DateTimeOffset NextRunAt { get; set; } = request.NotBefore ?? request.CreatedAt;

        public DateTimeOffset UpdatedAt { get; set; } = request.CreatedAt;

        public DateTimeOffset? CompletedAt { get; set; }

        public string? LeaseOwner { get; set; }

        public DateTimeOffset? LeaseUntil { get; set; }

        public List<AttemptRecord> Attempts { get; } = [];

        public CallbackStatus? Callback { get; set; } = request.Callback ? new CallbackStatus(CallbackState.Pending, 0, null, null, request.CreatedAt) : null;

        public void Requeue(DateTimeOffset now)
        {
            State = RequestState.Queued;
            LeaseOwner = null;
            LeaseUntil = null;
            UpdatedAt = now;
        }

        public RequestSummary ToSummary() => new(Request.Id, Request.Unit, State, Attempts.Count, Request.CreatedAt, CompletedAt)
        {
            FirstStartedAt = Attempts.Count == 0 ? null : Attempts.Min(a => a.StartedAt),
            Ran = Attempts.Aggregate(TimeSpan.Zero, (sum, a) => sum + (a.CreatedAt - a.StartedAt)),
        };

        public RequestRecord ToRecord() => new(
            Request.Id, Request.Unit, State, Request.Method, Request.Uri, Request.Headers, Request.Body,
            Request.CreatedAt, UpdatedAt, CompletedAt, [.. Attempts])
        {
            NotBefore = Request.NotBefore,
        };
    }
}
