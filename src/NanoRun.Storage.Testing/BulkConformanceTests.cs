using NanoRun.Requests;
using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The many-request part of the <see cref="IRequestStore"/> contract: bulk cancel of queued requests and search.</summary>
/// <typeparam name="TWorld">The provider's world.</typeparam>
public abstract class BulkConformanceTests<TWorld> : StoreConformanceTests<TWorld>
    where TWorld : StoreWorld, new()
{
    /// <summary>Cancel queued: the earliest queued go first, a bounded batch per call, and the answer says whether more remain; running requests and other units are left alone.</summary>
    [Fact]
    public async Task CancelQueued_MoreThanLimit_CancelsEarliestFirstInBatches()
    {
        var ids = await EnqueueManyAsync(6);
        var other = (await EnqueueManyAsync(1, unit: "other"))[0];
        var running = (await ClaimAsync(limit: 1)).Single();
        var now = Time.GetUtcNow();

        var first = await Store.CancelQueuedAsync(new CancelQueuedParams(Unit, 3, now));
        var second = await Store.CancelQueuedAsync(new CancelQueuedParams(Unit, 3, now));
        var third = await Store.CancelQueuedAsync(new CancelQueuedParams(Unit, 3, now));

        Assert.Equal(ids[0], running.Id);
        Assert.Equal(ids[1..4], first.Ids);
        Assert.True(first.More);
        Assert.Equal(ids[4..6], second.Ids);
        Assert.False(second.More);
        Assert.Empty(third.Ids);
        Assert.False(third.More);
        var cancelled = (await Store.GetAsync(ids[1]))!;
        Assert.Equal(RequestState.Cancelled, cancelled.State);
        Assert.Equal(now, cancelled.CompletedAt);
        Assert.Equal(RequestState.Running, (await Store.GetAsync(ids[0]))!.State);
        Assert.Equal(RequestState.Queued, (await Store.GetAsync(other))!.State);
    }

    /// <summary>Search: a request is found by its id's start and by a term it carries, newest first, paged by the list's cursor, within its unit only.</summary>
    [Fact]
    public async Task Search_IdPrefixAndTerm_FindsNewestFirstAndPages()
    {
        var tagged = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var request = NewRequest() with { SearchTerms = ["order-42", "text/plain"] };
            await Store.EnqueueAsync(request);
            tagged.Add(request.Id);
            Time.Advance(TimeSpan.FromMilliseconds(1));
        }

        var plain = (await EnqueueManyAsync(1))[0];
        await Store.EnqueueAsync(NewRequest("other") with { SearchTerms = ["order-42"] });

        var byTerm = await SearchAsync(new SearchParams(Unit, "order-42", 10));
        var firstPage = await SearchAsync(new SearchParams(Unit, "order-42", 2));
        var secondPage = await SearchAsync(new SearchParams(Unit, "order-42", 2, firstPage[^1].Id));
        var byPrefix = await SearchAsync(new SearchParams(Unit, plain[..20], 10));
        var byWholeId = await SearchAsync(new SearchParams(Unit, tagged[1], 10));
        var termPrefix = await SearchAsync(new SearchParams(Unit, "order-4", 10));
        var unknownCursor = await SearchAsync(new SearchParams(Unit, "order-42", 10, RequestId.New(Time)));

        Assert.Equal([tagged[2], tagged[1], tagged[0]], byTerm.Select(s => s.Id));
        Assert.Equal([tagged[2], tagged[1]], firstPage.Select(s => s.Id));
        Assert.Equal([tagged[0]], secondPage.Select(s => s.Id));
        Assert.Equal([plain], byPrefix.Select(s => s.Id));
        Assert.Equal([tagged[1]], byWholeId.Select(s => s.Id));
        Assert.Equal(RequestState.Queued, byWholeId[0].State);
        Assert.Empty(termPrefix);
        Assert.Empty(unknownCursor);
    }

    /// <summary>Search: a purged request is no longer found by its terms or id.</summary>
    [Fact]
    public async Task Search_AfterPurge_FindsNothing()
    {
        var request = NewRequest() with { SearchTerms = ["gone-soon"] };
        await Store.EnqueueAsync(request);
        await Store.CancelAsync(request.Id, Time.GetUtcNow());
        Time.Advance(TimeSpan.FromMinutes(1));

        var purged = await Store.PurgeAsync(new PurgeParams(Unit, Time.GetUtcNow(), 10));
        var byTerm = await SearchAsync(new SearchParams(Unit, "gone-soon", 10));
        var byId = await SearchAsync(new SearchParams(Unit, request.Id, 10));

        Assert.Equal([request.Id], purged);
        Assert.Empty(byTerm);
        Assert.Empty(byId);
    }

    private async Task<List<RequestSummary>> SearchAsync(SearchParams search)
    {
        var list = new List<RequestSummary>();
        await foreach (var summary in Store.SearchAsync(search))
        {
            list.Add(summary);
        }

        return list;
    }
}
