using NanoRun.Requests;
using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The history part of the <see cref="IRequestStore"/> contract: durability across reopening, arrival-order
/// paging, counts and purging.</summary>
/// <typeparam name="TWorld">The provider's world.</typeparam>
public abstract class RequestHistoryConformanceTests<TWorld> : StoreConformanceTests<TWorld>
    where TWorld : StoreWorld, new()
{
    /// <summary>Reopen: after work, all data survives.</summary>
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

    /// <summary>Record attempt: kept stderr, inline or under a key, comes back with its attempt after reopening; an attempt without any reads empty.</summary>
    [Fact]
    public async Task RecordAttempt_WithStderr_ComesBackWithItsAttempt()
    {
        await EnqueueManyAsync(3);
        var claimed = await ClaimAsync(limit: 3);
        var inline = new BodyRef(null, "sh: 1: nope: not found\n"u8.ToArray(), 23);
        var keyed = await Blobs.WriteAsync(claimed[1].Id + "/" + RequestId.New(Time) + ".stderr", new MemoryStream(RandomBytes(10_000)), 0);
        var withInline = Outcome(claimed[0], 502, RequestState.Failed);
        var withKeyed = Outcome(claimed[1], 502, RequestState.Failed);

        await Store.RecordAttemptAsync(withInline with { Attempt = withInline.Attempt with { Stderr = inline } });
        await Store.RecordAttemptAsync(withKeyed with { Attempt = withKeyed.Attempt with { Stderr = keyed } });
        await Store.RecordAttemptAsync(Outcome(claimed[2], 200, RequestState.Succeeded));
        await ReopenAsync();
        var first = (await Store.GetAsync(claimed[0].Id))!.Attempts.Single();
        var second = (await Store.GetAsync(claimed[1].Id))!.Attempts.Single();
        var third = (await Store.GetAsync(claimed[2].Id))!.Attempts.Single();

        AssertBody(inline, first.Stderr);
        Assert.Equal("sh: 1: nope: not found\n", await ReadAllTextAsync(first.Stderr));
        AssertBody(keyed, second.Stderr);
        Assert.Equal(10_000, (await ReadAllBytesAsync(second.Stderr)).Length);
        Assert.Equal(0, third.Stderr.Length);
    }

    /// <summary>Enqueue: a request with a not-before time is due only then, is not claimed earlier, and its record keeps that time.</summary>
    [Fact]
    public async Task Enqueue_NotBefore_DueThenAndKeptOnTheRecord()
    {
        var notBefore = Time.GetUtcNow().AddMinutes(5);
        var delayed = NewRequest() with { NotBefore = notBefore };
        await Store.EnqueueAsync(delayed);
        var plain = (await EnqueueManyAsync(1, unit: "other"))[0];

        var early = await ClaimAsync();
        var due = await Store.NextDueAsync(Unit);
        Time.Advance(TimeSpan.FromMinutes(5));
        var onTime = await ClaimAsync();
        var record = await Store.GetAsync(delayed.Id);
        var plainRecord = await Store.GetAsync(plain);

        Assert.Empty(early);
        Assert.Equal(notBefore, due);
        Assert.Equal([delayed.Id], Ids(onTime));
        Assert.Equal(delayed.CreatedAt, onTime[0].CreatedAt);
        Assert.Equal(notBefore, record!.NotBefore);
        Assert.Null(plainRecord!.NotBefore);
    }

    /// <summary>Page: each summary tells when the first attempt started and how long the attempts ran, without the waits between them.</summary>
    [Fact]
    public async Task Page_Summaries_TellFirstStartAndTimeRun()
    {
        var attempted = (await EnqueueManyAsync(1))[0];
        var waitingId = (await EnqueueManyAsync(1, unit: "other"))[0];
        Time.Advance(TimeSpan.FromSeconds(10));
        var first = (await ClaimAsync(limit: 1)).Single();
        var retry = Outcome(first, 503, RequestState.Retrying, nextRunAt: Time.GetUtcNow().AddSeconds(30));
        await Store.RecordAttemptAsync(retry);
        Time.Advance(TimeSpan.FromSeconds(30));
        var again = (await ClaimAsync(limit: 1)).Single();
        await Store.RecordAttemptAsync(Outcome(again, 200, RequestState.Succeeded));

        var done = (await PageAsync(new PageParams(Unit, 10))).Single();
        var waiting = (await PageAsync(new PageParams("other", 10))).Single();

        Assert.Equal(attempted, done.Id);
        Assert.Equal(waitingId, waiting.Id);
        Assert.Equal(retry.Attempt.StartedAt, done.FirstStartedAt);
        Assert.Equal(TimeSpan.FromMilliseconds(500), done.Ran);
        Assert.Null(waiting.FirstStartedAt);
        Assert.Equal(TimeSpan.Zero, waiting.Ran);
    }

    /// <summary>Enqueue: 1000 concurrent, all durable after reopen.</summary>
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

    /// <summary>Record attempt: 200 concurrent records of different requests, each durable after reopen with its own outcome.</summary>
    [Fact]
    public async Task RecordAttempt_200Concurrent_AllDurableAfterReopen()
    {
        var ids = await EnqueueManyAsync(200, concurrent: true);
        var claimed = await ClaimAsync(limit: 200);
        var outcomes = claimed.Select((c, i) => i % 2 == 0
            ? Outcome(c, 200, RequestState.Succeeded)
            : Outcome(c, 503, RequestState.Retrying, nextRunAt: Time.GetUtcNow().AddMinutes(1))).ToArray();

        var states = await Task.WhenAll(outcomes.Select(o => Task.Run(() => Store.RecordAttemptAsync(o))));
        await ReopenAsync();
        var stored = await Task.WhenAll(outcomes.Select(o => Store.GetAsync(o.RequestId)));

        Assert.Equal(ids.Order(), Ids(claimed).Order());
        Assert.Equal(outcomes.Select(o => (RequestState?)o.NextState), states);
        for (var i = 0; i < outcomes.Length; i++)
        {
            Assert.Equal(outcomes[i].NextState, stored[i]!.State);
            var attempt = Assert.Single(stored[i]!.Attempts);
            Assert.Equal(outcomes[i].Attempt.Id, attempt.Id);
            Assert.Equal(outcomes[i].Attempt.Code, attempt.Code);
        }
    }

    /// <summary>Page: many requests, newest first with cursor.</summary>
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

    /// <summary>Page: ids that do not sort by arrival, pages newest arrival first with the cursor.</summary>
    [Fact]
    public async Task Page_IdsNotInArrivalOrder_PagesByArrival()
    {
        var ids = Enumerable.Range(0, 5).Select(_ => RequestId.New(Time)).Order(StringComparer.Ordinal).Reverse().ToArray();
        foreach (var id in ids)
        {
            await Store.EnqueueAsync(NewRequest() with { Id = id });
        }

        var first = await PageAsync(new PageParams(Unit, 3));
        var second = await PageAsync(new PageParams(Unit, 3, Before: first[^1].Id));

        Assert.Equal([ids[4], ids[3], ids[2]], first.Select(s => s.Id));
        Assert.Equal([ids[1], ids[0]], second.Select(s => s.Id));
    }

    /// <summary>Page: a cursor naming no stored request, returns nothing.</summary>
    [Fact]
    public async Task Page_UnknownCursor_ReturnsNothing()
    {
        await EnqueueManyAsync(3);

        var page = await PageAsync(new PageParams(Unit, 10, Before: RequestId.New(Time)));

        Assert.Empty(page);
    }

    /// <summary>Page: state filter, returns only that state.</summary>
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

    /// <summary>Count By State: mixed states, counts each state of that unit only.</summary>
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

    /// <summary>Purge: mixed requests, removes only final and old and returns ids.</summary>
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

    /// <summary>Purge: limit, removes at most limit oldest first.</summary>
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

    /// <summary>Purge: keep newest in state, spares newest of that outcome only.</summary>
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

    /// <summary>Purge: keep newest any outcome, never removes unfinished.</summary>
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
}
