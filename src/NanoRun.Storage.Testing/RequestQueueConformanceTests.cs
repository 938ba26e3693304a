using System.Collections.Concurrent;
using NanoRun.Requests;
using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The queue part of the <see cref="IRequestStore"/> contract: enqueue, deduplication, claims, leases, attempts,
/// release and cancellation, as <see cref="RequestTransitions"/> rules them.</summary>
/// <typeparam name="TWorld">The provider's world.</typeparam>
public abstract class RequestQueueConformanceTests<TWorld> : StoreConformanceTests<TWorld>
    where TWorld : StoreWorld, new()
{
    /// <summary>Enqueue: then get, round trips every field.</summary>
    [Fact]
    public async Task Enqueue_ThenGet_RoundTripsEveryField()
    {
        KeyValuePair<string, string>[] headers =
        [
            new("Accept", "text/plain"),
            new("X-Multi", "one"),
            new("x-multi", "two, three"),
            new("X-Unicode", "héllo — 世界 🚀"),
            new("X-Odd", "\"quoted\" \\ back\\slash\ttab"),
            new("X-Empty", ""),
        ];
        var request = new NewRequest(RequestId.New(Time), Unit, "PATCH", "/api/unit/?a=1&b=%20", headers, new BodyRef(null, [1, 2, 3], 3), Time.GetUtcNow());

        await Store.EnqueueAsync(request);
        var record = await Store.GetAsync(request.Id);

        Assert.NotNull(record);
        Assert.Equal(request.Id, record.Id);
        Assert.Equal(Unit, record.Unit);
        Assert.Equal(RequestState.Queued, record.State);
        Assert.Equal("PATCH", record.Method);
        Assert.Equal("/api/unit/?a=1&b=%20", record.Uri);
        Assert.Equal(headers, record.Headers);
        AssertBody(request.Body, record.Body);
        Assert.Equal(Time.GetUtcNow(), record.CreatedAt);
        Assert.Equal(Time.GetUtcNow(), record.UpdatedAt);
        Assert.Null(record.CompletedAt);
        Assert.Empty(record.Attempts);
    }

    /// <summary>Enqueue: body in file and empty body, round trip body refs.</summary>
    [Fact]
    public async Task Enqueue_BodyInFileAndEmptyBody_RoundTripBodyRefs()
    {
        var inFile = NewRequest(body: new BodyRef("0123456789abcdef/body", null, 123_456));
        var empty = NewRequest(body: BodyRef.Empty);

        await Store.EnqueueAsync(inFile);
        await Store.EnqueueAsync(empty);

        AssertBody(inFile.Body, (await Store.GetAsync(inFile.Id))!.Body);
        AssertBody(BodyRef.Empty, (await Store.GetAsync(empty.Id))!.Body);
    }

    /// <summary>Enqueue: same dedupe key twice, stores only the first.</summary>
    [Fact]
    public async Task Enqueue_SameDedupeKeyTwice_StoresOnlyTheFirst()
    {
        var first = NewRequest() with { DedupeKey = "cron:unit:1735787045000:index:0" };
        var second = NewRequest() with { DedupeKey = first.DedupeKey };
        var otherKey = NewRequest() with { DedupeKey = "cron:unit:1735787046000:index:0" };
        var noKey = NewRequest();

        var added = new[]
        {
            await Store.EnqueueAsync(first),
            await Store.EnqueueAsync(second),
            await Store.EnqueueAsync(otherKey),
            await Store.EnqueueAsync(noKey),
        };

        Assert.Equal([true, false, true, true], added);
        Assert.NotNull(await Store.GetAsync(first.Id));
        Assert.Null(await Store.GetAsync(second.Id));
        Assert.Equal([noKey.Id, otherKey.Id, first.Id], (await PageAsync(new PageParams(Unit, 10))).Select(s => s.Id));
    }

    /// <summary>Enqueue: same dedupe key concurrently, stores exactly one.</summary>
    [Fact]
    public async Task Enqueue_SameDedupeKeyConcurrently_StoresExactlyOne()
    {
        var requests = Enumerable.Range(0, 20).Select(_ => NewRequest() with { DedupeKey = "cron:unit:1735787045000:name:nightly" }).ToArray();
        var plain = Enumerable.Range(0, 20).Select(_ => NewRequest()).ToArray();

        var added = await Task.WhenAll(requests.Concat(plain).Select(r => Task.Run(() => Store.EnqueueAsync(r))));

        Assert.Equal(21, added.Count(a => a));
        Assert.Equal(21, (await PageAsync(new PageParams(Unit, 100))).Count);
        var kept = Assert.Single(requests.Where((_, i) => added[i]));
        Assert.Equal(RequestState.Queued, (await Store.GetAsync(kept.Id))!.State);
    }

    /// <summary>Find By Dedupe Key: stored and unknown, returns first id or null.</summary>
    [Fact]
    public async Task FindByDedupeKey_StoredAndUnknown_ReturnsFirstIdOrNull()
    {
        var first = NewRequest() with { DedupeKey = "idem:unit:order-17" };
        var second = NewRequest() with { DedupeKey = first.DedupeKey };
        await Store.EnqueueAsync(first);
        await Store.EnqueueAsync(second);

        var found = await Store.FindByDedupeKeyAsync("idem:unit:order-17");
        var unknown = await Store.FindByDedupeKeyAsync("idem:unit:order-18");

        Assert.Equal(first.Id, found);
        Assert.Null(unknown);
    }

    /// <summary>Find By Dedupe Key: after purge, returns null and key is free again.</summary>
    [Fact]
    public async Task FindByDedupeKey_AfterPurge_ReturnsNullAndKeyIsFreeAgain()
    {
        var first = NewRequest() with { DedupeKey = "idem:unit:gone" };
        await Store.EnqueueAsync(first);
        await Store.CancelAsync(first.Id, Time.GetUtcNow());
        Time.Advance(TimeSpan.FromMinutes(1));
        await Store.PurgeAsync(new PurgeParams(Unit, Time.GetUtcNow(), 10));

        var found = await Store.FindByDedupeKeyAsync("idem:unit:gone");
        var again = await Store.EnqueueAsync(NewRequest() with { DedupeKey = "idem:unit:gone" });

        Assert.Null(found);
        Assert.True(again);
    }

    /// <summary>Get: unknown id, returns null.</summary>
    [Fact]
    public async Task Get_UnknownId_ReturnsNull()
    {
        var record = await Store.GetAsync(RequestId.New(Time));

        Assert.Null(record);
    }

    /// <summary>Claim: several due, returns oldest due first and at most limit.</summary>
    [Fact]
    public async Task Claim_SeveralDue_ReturnsOldestDueFirstAndAtMostLimit()
    {
        var ids = await EnqueueManyAsync(5);
        await EnqueueManyAsync(2, unit: "other");

        var first = await ClaimAsync(limit: 3);
        var rest = await ClaimAsync(limit: 10);

        Assert.Equal(ids[..3], Ids(first));
        Assert.Equal(ids[3..], Ids(rest));
        Assert.All(first, c => Assert.Equal(0, c.AttemptsSoFar));
        Assert.All(first, c => Assert.Equal(Unit, c.Unit));
        Assert.Equal(RequestState.Running, (await Store.GetAsync(ids[0]))!.State);
    }

    /// <summary>Claim: claimed request, carries the saved request.</summary>
    [Fact]
    public async Task Claim_ClaimedRequest_CarriesTheSavedRequest()
    {
        var request = NewRequest(headers: [new("X-A", "1"), new("X-A", "2")], body: new BodyRef(null, [9], 1));
        await Store.EnqueueAsync(request);

        var claimed = Assert.Single(await ClaimAsync());

        Assert.Equal(request.Id, claimed.Id);
        Assert.Equal(request.Method, claimed.Method);
        Assert.Equal(request.Uri, claimed.Uri);
        Assert.Equal(request.Headers, claimed.Headers);
        AssertBody(request.Body, claimed.Body);
        Assert.Equal(request.CreatedAt, claimed.CreatedAt);
    }

    /// <summary>Claim: zero limit or nothing due, returns empty.</summary>
    [Fact]
    public async Task Claim_ZeroLimitOrNothingDue_ReturnsEmpty()
    {
        await EnqueueManyAsync(1);

        var none = await ClaimAsync(limit: 0);
        var other = await ClaimAsync(unit: "other");

        Assert.Empty(none);
        Assert.Empty(other);
    }

    /// <summary>Claim: concurrent claimers, claim each request exactly once.</summary>
    [Fact]
    public async Task Claim_ConcurrentClaimers_ClaimEachRequestExactlyOnce()
    {
        var ids = await EnqueueManyAsync(200, concurrent: true);
        var claimed = new ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(n => Task.Run(async () =>
        {
            while (true)
            {
                var batch = await ClaimAsync(limit: 3, owner: $"node-{n}");
                if (batch.Count == 0)
                {
                    return;
                }

                foreach (var request in batch)
                {
                    claimed.Add(request.Id);
                }
            }
        })));

        Assert.Equal(200, claimed.Count);
        Assert.Equal(ids.Order(), claimed.Order());
    }

    /// <summary>Claim: same due time, takes the earliest arrived first, whatever the ids.</summary>
    [Fact]
    public async Task Claim_SameDueTime_TakesEarliestArrivedFirst()
    {
        var ids = Enumerable.Range(0, 5).Select(_ => RequestId.New(Time)).Order(StringComparer.Ordinal).Reverse().ToArray();
        foreach (var id in ids)
        {
            await Store.EnqueueAsync(NewRequest() with { Id = id });
        }

        var first = await ClaimAsync(limit: 2);
        var rest = await ClaimAsync(limit: 10);

        Assert.Equal(ids[..2], Ids(first));
        Assert.Equal(ids[2..], Ids(rest));
    }

    /// <summary>Claim: retrying not yet due, is not claimed until due.</summary>
    [Fact]
    public async Task Claim_RetryingNotYetDue_IsNotClaimedUntilDue()
    {
        var id = (await EnqueueManyAsync(1))[0];
        var claimed = Assert.Single(await ClaimAsync());
        await Store.RecordAttemptAsync(Outcome(claimed, 502, RequestState.Retrying, nextRunAt: Time.GetUtcNow().AddSeconds(5)));

        var early = await ClaimAsync();
        Time.Advance(TimeSpan.FromSeconds(5));
        var due = await ClaimAsync();

        Assert.Empty(early);
        var again = Assert.Single(due);
        Assert.Equal(id, again.Id);
        Assert.Equal(1, again.AttemptsSoFar);
    }

    /// <summary>Next Due: waiting requests, returns earliest and null when none.</summary>
    [Fact]
    public async Task NextDue_WaitingRequests_ReturnsEarliestAndNullWhenNone()
    {
        var empty = await Store.NextDueAsync(Unit);
        await EnqueueManyAsync(1);
        var queuedAt = Time.GetUtcNow();
        var claimed = Assert.Single(await ClaimAsync());
        await Store.RecordAttemptAsync(Outcome(claimed, 500, RequestState.Retrying, nextRunAt: queuedAt.AddMinutes(1)));

        var retrying = await Store.NextDueAsync(Unit);
        Time.Advance(TimeSpan.FromSeconds(1));
        await EnqueueManyAsync(1);
        var both = await Store.NextDueAsync(Unit);

        Assert.Null(empty);
        Assert.Equal(queuedAt.AddMinutes(1), retrying);
        Assert.Equal(queuedAt.AddSeconds(1), both);
    }

    /// <summary>Record Attempt: success, completes succeeded.</summary>
    [Fact]
    public async Task RecordAttempt_Success_CompletesSucceeded()
    {
        await EnqueueManyAsync(1);
        var claimed = Assert.Single(await ClaimAsync());
        Time.Advance(TimeSpan.FromSeconds(2));
        var outcome = Outcome(claimed, 200, RequestState.Succeeded, headers: [new("Content-Type", "text/plain"), new("X-Return-Code", "0")]);

        var state = await Store.RecordAttemptAsync(outcome);
        var record = await Store.GetAsync(claimed.Id);

        Assert.Equal(RequestState.Succeeded, state);
        Assert.NotNull(record);
        Assert.Equal(RequestState.Succeeded, record.State);
        Assert.Equal(Time.GetUtcNow(), record.CompletedAt);
        Assert.Equal(Time.GetUtcNow(), record.UpdatedAt);
        var attempt = Assert.Single(record.Attempts);
        Assert.Equal(outcome.Attempt.Id, attempt.Id);
        Assert.Equal(1, attempt.Number);
        Assert.Equal(200, attempt.Code);
        Assert.Equal(outcome.Attempt.Headers, attempt.Headers);
        AssertBody(outcome.Attempt.Result, attempt.Result);
        Assert.Equal(outcome.Attempt.StartedAt, attempt.StartedAt);
        Assert.Equal(outcome.Attempt.CreatedAt, attempt.CreatedAt);
        Assert.Empty(await ClaimAsync());
    }

    /// <summary>Record Attempt: retries then fails, completes failed with attempts in order.</summary>
    [Fact]
    public async Task RecordAttempt_RetriesThenFails_CompletesFailedWithAttemptsInOrder()
    {
        await EnqueueManyAsync(1);
        var first = Assert.Single(await ClaimAsync());
        var retrying = await Store.RecordAttemptAsync(Outcome(first, 502, RequestState.Retrying, nextRunAt: Time.GetUtcNow().AddSeconds(5), result: new BodyRef("0123456789abcdef/a1", null, 10)));
        var afterRetry = await Store.GetAsync(first.Id);
        Time.Advance(TimeSpan.FromSeconds(5));
        var second = Assert.Single(await ClaimAsync());

        var failed = await Store.RecordAttemptAsync(Outcome(second, 500, RequestState.Failed));
        var record = await Store.GetAsync(first.Id);

        Assert.Equal(RequestState.Retrying, retrying);
        Assert.Equal(RequestState.Retrying, afterRetry!.State);
        Assert.Null(afterRetry.CompletedAt);
        Assert.Equal(RequestState.Failed, failed);
        Assert.Equal(RequestState.Failed, record!.State);
        Assert.Equal(Time.GetUtcNow(), record.CompletedAt);
        Assert.Equal([1, 2], record.Attempts.Select(a => a.Number));
        Assert.Equal([502, 500], record.Attempts.Select(a => a.Code));
        Assert.Equal("0123456789abcdef/a1", record.Attempts[0].Result.Key);
    }

    /// <summary>Record Attempt: cancelled request, keeps cancelled and records attempt.</summary>
    [Fact]
    public async Task RecordAttempt_CancelledRequest_KeepsCancelledAndRecordsAttempt()
    {
        await EnqueueManyAsync(1);
        var claimed = Assert.Single(await ClaimAsync());
        await Store.CancelAsync(claimed.Id, Time.GetUtcNow());

        var state = await Store.RecordAttemptAsync(Outcome(claimed, 200, RequestState.Succeeded));
        var record = await Store.GetAsync(claimed.Id);

        Assert.Equal(RequestState.Cancelled, state);
        Assert.Equal(RequestState.Cancelled, record!.State);
        Assert.Single(record.Attempts);
    }

    /// <summary>Record Attempt: stale lease owner, does not change state.</summary>
    [Fact]
    public async Task RecordAttempt_StaleLeaseOwner_DoesNotChangeState()
    {
        await EnqueueManyAsync(1);
        var stale = Assert.Single(await ClaimAsync(owner: "node-old", leaseFor: TimeSpan.FromSeconds(1)));
        Time.Advance(TimeSpan.FromSeconds(2));
        await Store.RequeueExpiredAsync(Time.GetUtcNow());
        var current = Assert.Single(await ClaimAsync(owner: "node-new"));

        var state = await Store.RecordAttemptAsync(Outcome(stale, 200, RequestState.Succeeded, owner: "node-old"));
        var applied = await Store.RecordAttemptAsync(Outcome(current, 502, RequestState.Failed, owner: "node-new"));
        var record = await Store.GetAsync(stale.Id);

        Assert.Equal(RequestState.Running, state);
        Assert.Equal(RequestState.Failed, applied);
        Assert.Equal(RequestState.Failed, record!.State);
        Assert.Equal([1, 2], record.Attempts.Select(a => a.Number));
    }

    /// <summary>Record attempt: a next state an attempt cannot lead to, throws and changes nothing.</summary>
    [Theory]
    [InlineData(RequestState.Queued)]
    [InlineData(RequestState.Running)]
    [InlineData(RequestState.Cancelled)]
    public async Task RecordAttempt_IllegalNextState_ThrowsAndChangesNothing(RequestState next)
    {
        await EnqueueManyAsync(1);
        var claimed = Assert.Single(await ClaimAsync());

        var record = () => Store.RecordAttemptAsync(Outcome(claimed, 200, next));

        await Assert.ThrowsAsync<ArgumentException>(record);
        var stored = await Store.GetAsync(claimed.Id);
        Assert.NotNull(stored);
        Assert.Equal(RequestState.Running, stored.State);
        Assert.Empty(stored.Attempts);
    }

    /// <summary>Record Attempt: unknown request, returns null.</summary>
    [Fact]
    public async Task RecordAttempt_UnknownRequest_ReturnsNull()
    {
        var claimed = new ClaimedRequest(RequestId.New(Time), Unit, "POST", "/", [], BodyRef.Empty, 0, Time.GetUtcNow());

        var state = await Store.RecordAttemptAsync(Outcome(claimed, 200, RequestState.Succeeded));

        Assert.Null(state);
    }

    /// <summary>Release: running by owner, returns to queue.</summary>
    [Fact]
    public async Task Release_RunningByOwner_ReturnsToQueue()
    {
        await EnqueueManyAsync(1);
        var claimed = Assert.Single(await ClaimAsync());

        var byOther = await Store.ReleaseAsync(claimed.Id, "node-other");
        var byOwner = await Store.ReleaseAsync(claimed.Id, Owner);
        var again = await ClaimAsync();

        Assert.False(byOther);
        Assert.True(byOwner);
        Assert.Equal(claimed.Id, Assert.Single(again).Id);
        Assert.Equal(0, again[0].AttemptsSoFar);
    }

    /// <summary>Cancel: queued request, cancels and is never claimed.</summary>
    [Fact]
    public async Task Cancel_QueuedRequest_CancelsAndIsNeverClaimed()
    {
        var id = (await EnqueueManyAsync(1))[0];
        Time.Advance(TimeSpan.FromSeconds(1));

        var state = await Store.CancelAsync(id, Time.GetUtcNow());
        var record = await Store.GetAsync(id);

        Assert.Equal(RequestState.Cancelled, state);
        Assert.Equal(Time.GetUtcNow(), record!.CompletedAt);
        Assert.Empty(await ClaimAsync());
    }

    /// <summary>Cancel: unknown request, returns null.</summary>
    [Fact]
    public async Task Cancel_UnknownRequest_ReturnsNull()
    {
        var state = await Store.CancelAsync(RequestId.New(Time), Time.GetUtcNow());

        Assert.Null(state);
    }

    /// <summary>Cancel: final request, stays as it is.</summary>
    [Fact]
    public async Task Cancel_FinalRequest_StaysAsItIs()
    {
        await EnqueueManyAsync(1);
        var claimed = Assert.Single(await ClaimAsync());
        await Store.RecordAttemptAsync(Outcome(claimed, 200, RequestState.Succeeded));
        var completedAt = Time.GetUtcNow();
        Time.Advance(TimeSpan.FromSeconds(1));

        var state = await Store.CancelAsync(claimed.Id, Time.GetUtcNow());
        var record = await Store.GetAsync(claimed.Id);

        Assert.Equal(RequestState.Succeeded, state);
        Assert.Equal(RequestState.Succeeded, record!.State);
        Assert.Equal(completedAt, record.CompletedAt);
    }

    /// <summary>Requeue Expired: lease ended, returns only expired to queue.</summary>
    [Fact]
    public async Task RequeueExpired_LeaseEnded_ReturnsOnlyExpiredToQueue()
    {
        await EnqueueManyAsync(2);
        var shortLease = Assert.Single(await ClaimAsync(limit: 1, leaseFor: TimeSpan.FromSeconds(10)));
        var longLease = Assert.Single(await ClaimAsync(limit: 1, leaseFor: TimeSpan.FromMinutes(10)));
        Time.Advance(TimeSpan.FromSeconds(11));

        var requeued = await Store.RequeueExpiredAsync(Time.GetUtcNow());
        var again = await ClaimAsync();

        Assert.Equal(1, requeued);
        Assert.Equal(shortLease.Id, Assert.Single(again).Id);
        Assert.Equal(RequestState.Running, (await Store.GetAsync(longLease.Id))!.State);
    }

    /// <summary>Renew Leases: by owner, keeps request from expiring.</summary>
    [Fact]
    public async Task RenewLeases_ByOwner_KeepsRequestFromExpiring()
    {
        await EnqueueManyAsync(2);
        var claimed = await ClaimAsync(limit: 2, leaseFor: TimeSpan.FromSeconds(10));
        var ids = Ids(claimed);

        var renewed = await Store.RenewLeasesAsync(ids, Owner, Time.GetUtcNow().AddMinutes(5));
        var byOther = await Store.RenewLeasesAsync(ids, "node-other", Time.GetUtcNow().AddHours(5));
        Time.Advance(TimeSpan.FromMinutes(1));
        var requeued = await Store.RequeueExpiredAsync(Time.GetUtcNow());

        Assert.Equal(2, renewed);
        Assert.Equal(0, byOther);
        Assert.Equal(0, requeued);
    }
}
