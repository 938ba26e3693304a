using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NanoRun.Requests;

namespace NanoRun.Storage;

/// <summary>The storage contract: every provider runs these tests unchanged through its own subclass.</summary>
/// <remarks>Each test gets its own world (a fresh, initialized store and blob store) and a fake clock.</remarks>
public abstract partial class StoreConformanceTests : IAsyncLifetime
{
    protected const string Unit = "unit";
    protected const string Owner = "node-a";

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));

    protected IRequestStore Store { get; private set; } = null!;

    protected IBlobStore Blobs { get; private set; } = null!;

    /// <summary>Opens the provider over this test's world; called again by <see cref="ReopenAsync"/> on the same data.</summary>
    protected abstract Task<(IRequestStore Store, IBlobStore Blobs)> OpenAsync(TimeProvider time);

    /// <summary>Removes this test's world after the store is closed.</summary>
    protected abstract Task DestroyWorldAsync();

    public async Task InitializeAsync()
    {
        (Store, Blobs) = await OpenAsync(Time);
        await Store.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await CloseAsync();
        await DestroyWorldAsync();
    }

    // ---- requests -------------------------------------------------------------------------------------------------

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

    [Fact]
    public async Task Get_UnknownId_ReturnsNull()
    {
        var record = await Store.GetAsync(RequestId.New(Time));

        Assert.Null(record);
    }

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

    [Fact]
    public async Task Claim_ZeroLimitOrNothingDue_ReturnsEmpty()
    {
        await EnqueueManyAsync(1);

        var none = await ClaimAsync(limit: 0);
        var other = await ClaimAsync(unit: "other");

        Assert.Empty(none);
        Assert.Empty(other);
    }

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

    [Fact]
    public async Task RecordAttempt_UnknownRequest_ReturnsNull()
    {
        var claimed = new ClaimedRequest(RequestId.New(Time), Unit, "POST", "/", [], BodyRef.Empty, 0, Time.GetUtcNow());

        var state = await Store.RecordAttemptAsync(Outcome(claimed, 200, RequestState.Succeeded));

        Assert.Null(state);
    }

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

    [Fact]
    public async Task Cancel_UnknownRequest_ReturnsNull()
    {
        var state = await Store.CancelAsync(RequestId.New(Time), Time.GetUtcNow());

        Assert.Null(state);
    }

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

    [Fact]
    public async Task Reopen_AfterWork_AllDataSurvives()
    {
        var ids = await EnqueueManyAsync(3);
        var claimed = await ClaimAsync(limit: 2);
        await Store.RecordAttemptAsync(Outcome(claimed[0], 200, RequestState.Succeeded, headers: [new("X-R", "ü")]));
        await Store.RecordAttemptAsync(Outcome(claimed[1], 503, RequestState.Retrying, nextRunAt: Time.GetUtcNow().AddSeconds(5)));
        var before = new List<RequestRecord>();
        foreach (var id in ids)
        {
            before.Add((await Store.GetAsync(id))!);
        }

        await ReopenAsync();
        var after = new List<RequestRecord>();
        foreach (var id in ids)
        {
            after.Add((await Store.GetAsync(id))!);
        }

        for (var i = 0; i < ids.Length; i++)
        {
            AssertSameRecord(before[i], after[i]);
        }
    }

    [Fact]
    public async Task Enqueue_1000Concurrent_AllDurableAfterReopen()
    {
        var ids = await EnqueueManyAsync(1000, concurrent: true);

        await ReopenAsync();
        var stored = new List<string>();
        await foreach (var summary in Store.PageAsync(new PageParams(Unit, 5000)))
        {
            stored.Add(summary.Id);
        }

        Assert.Equal(ids.Order(), stored.Order());
    }

    [Fact]
    public async Task Page_ManyRequests_NewestFirstWithCursor()
    {
        var ids = await EnqueueManyAsync(7);
        await EnqueueManyAsync(2, unit: "other");

        var first = await PageAsync(new PageParams(Unit, 3));
        var second = await PageAsync(new PageParams(Unit, 3, Before: first[^1].Id));
        var third = await PageAsync(new PageParams(Unit, 3, Before: second[^1].Id));

        Assert.Equal([ids[6], ids[5], ids[4]], first.Select(s => s.Id));
        Assert.Equal([ids[3], ids[2], ids[1]], second.Select(s => s.Id));
        Assert.Equal([ids[0]], third.Select(s => s.Id));
        Assert.All(first, s => Assert.Equal(RequestState.Queued, s.State));
    }

    [Fact]
    public async Task Page_StateFilter_ReturnsOnlyThatState()
    {
        var ids = await EnqueueManyAsync(5);
        foreach (var claimed in await ClaimAsync(limit: 3))
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            await Store.RecordAttemptAsync(Outcome(claimed, 200, RequestState.Succeeded));
        }

        var succeeded = await PageAsync(new PageParams(Unit, 2, State: RequestState.Succeeded));
        var next = await PageAsync(new PageParams(Unit, 2, Before: succeeded[^1].Id, State: RequestState.Succeeded));
        var queued = await PageAsync(new PageParams(Unit, 10, State: RequestState.Queued));

        Assert.Equal([ids[2], ids[1]], succeeded.Select(s => s.Id));
        Assert.Equal([ids[0]], next.Select(s => s.Id));
        Assert.Equal([ids[4], ids[3]], queued.Select(s => s.Id));
        Assert.All(succeeded, s => Assert.Equal(1, s.AttemptCount));
        Assert.All(succeeded, s => Assert.NotNull(s.CompletedAt));
    }

    [Fact]
    public async Task CountByState_MixedStates_CountsEachStateOfThatUnitOnly()
    {
        var ids = await EnqueueManyAsync(8);
        await EnqueueManyAsync(3, unit: "other");
        var claimed = await ClaimAsync(limit: 5);
        await Store.RecordAttemptAsync(Outcome(claimed[0], 200, RequestState.Succeeded));
        await Store.RecordAttemptAsync(Outcome(claimed[1], 500, RequestState.Failed));
        await Store.RecordAttemptAsync(Outcome(claimed[2], 500, RequestState.Retrying));
        await Store.CancelAsync(ids[7], Time.GetUtcNow());

        var counts = await Store.CountByStateAsync(Unit);
        var other = await Store.CountByStateAsync("other");
        var none = await Store.CountByStateAsync("nobody");

        Assert.Equal(new StateCounts(Queued: 2, Running: 2, Retrying: 1, Succeeded: 1, Failed: 1, Cancelled: 1), counts);
        Assert.Equal(3, counts.Waiting);
        Assert.Equal(new StateCounts(3, 0, 0, 0, 0, 0), other);
        Assert.Equal(StateCounts.None, none);
    }

    [Fact]
    public async Task Purge_MixedRequests_RemovesOnlyFinalAndOldAndReturnsIds()
    {
        var ids = await EnqueueManyAsync(5);
        var claimed = await ClaimAsync(limit: 3);
        await Store.RecordAttemptAsync(Outcome(claimed[0], 200, RequestState.Succeeded));
        await Store.RecordAttemptAsync(Outcome(claimed[1], 500, RequestState.Failed));
        await Store.CancelAsync(ids[3], Time.GetUtcNow());
        var cutoff = Time.GetUtcNow().AddSeconds(1);
        Time.Advance(TimeSpan.FromSeconds(10));
        await Store.RecordAttemptAsync(Outcome(claimed[2], 200, RequestState.Succeeded));

        var purged = await Store.PurgeAsync(new PurgeParams(Unit, cutoff, 100));
        var otherUnit = await Store.PurgeAsync(new PurgeParams("other", Time.GetUtcNow().AddDays(1), 100));

        Assert.Equal(new[] { ids[0], ids[1], ids[3] }.Order(), purged.Order());
        Assert.Empty(otherUnit);
        Assert.Null(await Store.GetAsync(ids[0]));
        Assert.Null(await Store.GetAsync(ids[1]));
        Assert.Null(await Store.GetAsync(ids[3]));
        Assert.NotNull(await Store.GetAsync(ids[2]));
        Assert.NotNull(await Store.GetAsync(ids[4]));
    }

    [Fact]
    public async Task Purge_Limit_RemovesAtMostLimitOldestFirst()
    {
        var ids = await EnqueueManyAsync(3);
        foreach (var claimed in await ClaimAsync(limit: 3))
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            await Store.RecordAttemptAsync(Outcome(claimed, 200, RequestState.Succeeded));
        }

        var purged = await Store.PurgeAsync(new PurgeParams(Unit, Time.GetUtcNow().AddDays(1), 2));

        Assert.Equal([ids[0], ids[1]], purged);
    }

    [Fact]
    public async Task Purge_KeepNewestInState_SparesNewestOfThatOutcomeOnly()
    {
        var ids = await EnqueueManyAsync(6);
        var claimed = await ClaimAsync(limit: 5);
        foreach (var request in claimed.Take(4))
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            await Store.RecordAttemptAsync(Outcome(request, 200, RequestState.Succeeded));
        }

        await Store.RecordAttemptAsync(Outcome(claimed[4], 500, RequestState.Failed));

        var purged = await Store.PurgeAsync(new PurgeParams(Unit, DateTimeOffset.MaxValue, 100, RequestState.Succeeded, KeepNewest: 2));
        var again = await Store.PurgeAsync(new PurgeParams(Unit, DateTimeOffset.MaxValue, 100, RequestState.Succeeded, KeepNewest: 2));

        Assert.Equal(new[] { ids[0], ids[1] }.Order(), purged.Order());
        Assert.Empty(again);
        Assert.NotNull(await Store.GetAsync(ids[2]));
        Assert.NotNull(await Store.GetAsync(ids[3]));
        Assert.NotNull(await Store.GetAsync(ids[4]));
        Assert.NotNull(await Store.GetAsync(ids[5]));
    }

    [Fact]
    public async Task Purge_KeepNewestAnyOutcome_NeverRemovesUnfinished()
    {
        var ids = await EnqueueManyAsync(4);
        var claimed = await ClaimAsync(limit: 3);
        foreach (var request in claimed)
        {
            await Store.RecordAttemptAsync(Outcome(request, 200, RequestState.Succeeded));
        }

        var purged = await Store.PurgeAsync(new PurgeParams(Unit, DateTimeOffset.MaxValue, 100, KeepNewest: 1));

        Assert.Equal(new[] { ids[0], ids[1] }.Order(), purged.Order());
        Assert.NotNull(await Store.GetAsync(ids[2]));
        Assert.NotNull(await Store.GetAsync(ids[3]));
    }

    // ---- blobs ----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task BlobWrite_SmallBody_IsInline()
    {
        var key = $"{RequestId.New(Time)}/body";

        var body = await Blobs.WriteAsync(key, new MemoryStream(Encoding.UTF8.GetBytes("hello")), 0);

        Assert.Null(body.Key);
        Assert.Equal(5, body.Length);
        Assert.Equal("hello", await ReadAllTextAsync(body));
    }

    [Fact]
    public async Task BlobWrite_EmptyBody_IsEmpty()
    {
        var body = await Blobs.WriteAsync($"{RequestId.New(Time)}/body", new MemoryStream(), 10);

        Assert.Equal(0, body.Length);
        Assert.Equal("", await ReadAllTextAsync(body));
    }

    [Fact]
    public async Task BlobWrite_LargeBody_IsStoredUnderKeyAndReadsBack()
    {
        var key = $"{RequestId.New(Time)}/{RequestId.New(Time)}";
        var data = RandomBytes(300_000);

        var body = await Blobs.WriteAsync(key, new TrickleStream(data, 7_000), 1_000_000);

        Assert.Equal(key, body.Key);
        Assert.Null(body.Inline);
        Assert.Equal(data.Length, body.Length);
        Assert.Equal(data, await ReadAllBytesAsync(body));
    }

    [Fact]
    public async Task BlobWrite_OverMaxLength_Throws()
    {
        var key = $"{RequestId.New(Time)}/body";

        var large = await Assert.ThrowsAsync<BodyTooLargeException>(() => Blobs.WriteAsync(key, new MemoryStream(RandomBytes(200_000)), 100_000));
        var small = await Assert.ThrowsAsync<BodyTooLargeException>(() => Blobs.WriteAsync(key, new MemoryStream(RandomBytes(20)), 10));

        Assert.Equal(100_000, large.Limit);
        Assert.Equal(10, small.Limit);
    }

    [Fact]
    public async Task BlobWrite_ExactlyMaxLength_IsAccepted()
    {
        var body = await Blobs.WriteAsync($"{RequestId.New(Time)}/body", new MemoryStream(RandomBytes(100_000)), 100_000);

        Assert.Equal(100_000, body.Length);
    }

    [Fact]
    public async Task BlobWrite_Cancelled_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        var source = new TrickleStream(RandomBytes(1_000_000), 64 * 1024, afterReads: 3, onRead: cts.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Blobs.WriteAsync($"{RequestId.New(Time)}/body", source, 0, cts.Token));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("/abs")]
    [InlineData("/abs/body")]
    [InlineData("A/B")]
    [InlineData("ab/../../etc")]
    [InlineData("ab/.hidden")]
    [InlineData("ab//body")]
    [InlineData("ab/body/")]
    [InlineData("ab\\body")]
    [InlineData("nobody")]
    [InlineData("")]
    public async Task BlobWrite_BadKey_IsRejected(string key)
    {
        var write = () => Blobs.WriteAsync(key, new MemoryStream(RandomBytes(10_000)), 0);

        await Assert.ThrowsAsync<ArgumentException>(write);
    }

    [Fact]
    public async Task BlobDeletePrefix_Request_RemovesItsBlobsOnly()
    {
        var id = RequestId.New(Time);
        var other = RequestId.New(Time);
        var body = await Blobs.WriteAsync($"{id}/body", new MemoryStream(RandomBytes(10_000)), 0);
        var result = await Blobs.WriteAsync($"{id}/{RequestId.New(Time)}", new MemoryStream(RandomBytes(10_000)), 0);
        var kept = await Blobs.WriteAsync($"{other}/body", new MemoryStream(RandomBytes(10_000)), 0);

        await Blobs.DeletePrefixAsync(id);
        await Blobs.DeletePrefixAsync(RequestId.New(Time));

        Assert.Null(await Blobs.OpenReadAsync(body));
        Assert.Null(await Blobs.OpenReadAsync(result));
        await using var stream = await Blobs.OpenReadAsync(kept);
        Assert.NotNull(stream);
    }

    [Fact]
    public async Task BlobOpenRead_MissingKey_ReturnsNull()
    {
        var stream = await Blobs.OpenReadAsync(new BodyRef($"{RequestId.New(Time)}/body", null, 10));

        Assert.Null(stream);
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    protected async Task ReopenAsync()
    {
        await CloseAsync();
        (Store, Blobs) = await OpenAsync(Time);
        await Store.InitializeAsync();
    }

    protected NewRequest NewRequest(
        string unit = Unit,
        IReadOnlyList<KeyValuePair<string, string>>? headers = null,
        BodyRef? body = null) =>
        new(RequestId.New(Time), unit, "POST", $"/api/{unit}/", headers ?? [new("Content-Type", "text/plain")], body ?? new BodyRef(null, [42], 1), Time.GetUtcNow());

    /// <summary>Enqueues <paramref name="count"/> requests and returns their ids oldest first; one millisecond apart unless concurrent.</summary>
    protected async Task<string[]> EnqueueManyAsync(int count, string unit = Unit, bool concurrent = false)
    {
        var requests = new NewRequest[count];
        for (var i = 0; i < count; i++)
        {
            requests[i] = NewRequest(unit);
            if (!concurrent)
            {
                await Store.EnqueueAsync(requests[i]);
                Time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        if (concurrent)
        {
            await Task.WhenAll(requests.Select(r => Task.Run(() => Store.EnqueueAsync(r))));
        }

        return requests.Select(r => r.Id).ToArray();
    }

    protected Task<IReadOnlyList<ClaimedRequest>> ClaimAsync(int limit = 10, string owner = Owner, TimeSpan? leaseFor = null, string unit = Unit) =>
        Store.ClaimAsync(new ClaimParams(unit, limit, owner, Time.GetUtcNow(), Time.GetUtcNow() + (leaseFor ?? TimeSpan.FromSeconds(30))));

    protected AttemptOutcome Outcome(
        ClaimedRequest claimed,
        int code,
        RequestState next,
        string owner = Owner,
        DateTimeOffset? nextRunAt = null,
        IReadOnlyList<KeyValuePair<string, string>>? headers = null,
        BodyRef? result = null) =>
        new(
            claimed.Id,
            owner,
            new AttemptRecord(RequestId.New(Time), claimed.AttemptsSoFar + 1, code, headers ?? [], result ?? new BodyRef(null, [1, 2], 2), Time.GetUtcNow().AddMilliseconds(-250), Time.GetUtcNow()),
            next,
            nextRunAt ?? Time.GetUtcNow());

    protected static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private static string[] Ids(IReadOnlyList<ClaimedRequest> claimed) => claimed.Select(c => c.Id).ToArray();

    private static void AssertBody(BodyRef expected, BodyRef actual)
    {
        Assert.Equal(expected.Key, actual.Key);
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(expected.Inline, actual.Inline);
    }

    private static void AssertSameRecord(RequestRecord expected, RequestRecord actual)
    {
        Assert.Equal(expected with { Headers = [], Body = BodyRef.Empty, Attempts = [] }, actual with { Headers = [], Body = BodyRef.Empty, Attempts = [] });
        Assert.Equal(expected.Headers, actual.Headers);
        AssertBody(expected.Body, actual.Body);
        Assert.Equal(expected.Attempts.Count, actual.Attempts.Count);
        for (var i = 0; i < expected.Attempts.Count; i++)
        {
            Assert.Equal(expected.Attempts[i] with { Headers = [], Result = BodyRef.Empty }, actual.Attempts[i] with { Headers = [], Result = BodyRef.Empty });
            Assert.Equal(expected.Attempts[i].Headers, actual.Attempts[i].Headers);
            AssertBody(expected.Attempts[i].Result, actual.Attempts[i].Result);
        }
    }

    private async Task<List<RequestSummary>> PageAsync(PageParams page)
    {
        var list = new List<RequestSummary>();
        await foreach (var summary in Store.PageAsync(page))
        {
            list.Add(summary);
        }

        return list;
    }

    private async Task<byte[]> ReadAllBytesAsync(BodyRef body)
    {
        await using var stream = await Blobs.OpenReadAsync(body);
        Assert.NotNull(stream);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private async Task<string> ReadAllTextAsync(BodyRef body) => Encoding.UTF8.GetString(await ReadAllBytesAsync(body));

    private async Task CloseAsync()
    {
        if (Store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }
}
