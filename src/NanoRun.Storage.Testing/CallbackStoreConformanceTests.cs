using NanoRun.Requests;
using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The <see cref="ICallbackStore"/> contract: pending callbacks become due once their request is final, are leased
/// to one deliverer at a time and keep their delivery state; the provider's request store must implement it.</summary>
/// <typeparam name="TWorld">The provider's world.</typeparam>
public abstract class CallbackStoreConformanceTests<TWorld> : StoreConformanceTests<TWorld>
    where TWorld : StoreWorld, new()
{
    private ICallbackStore Callbacks => Assert.IsAssignableFrom<ICallbackStore>(Store);

    /// <summary>Callback: request without, has no callback and is never claimed.</summary>
    [Fact]
    public async Task Callback_RequestWithout_HasNoCallbackAndIsNeverClaimed()
    {
        var request = NewRequest();
        await Store.EnqueueAsync(request);
        await CompleteAsync(RequestState.Succeeded);

        var status = await Callbacks.GetCallbackAsync(request.Id);
        var due = await ClaimCallbacksAsync();

        Assert.Null(status);
        Assert.Empty(due);
    }

    /// <summary>Callback: pending request, is claimed only once final.</summary>
    [Fact]
    public async Task Callback_PendingRequest_IsClaimedOnlyOnceFinal()
    {
        var request = NewRequest() with { Callback = true };
        await Store.EnqueueAsync(request);

        var beforeFinal = await ClaimCallbacksAsync();
        var pending = await Callbacks.GetCallbackAsync(request.Id);
        await CompleteAsync(RequestState.Failed);
        var afterFinal = await ClaimCallbacksAsync();
        var whileLeased = await ClaimCallbacksAsync();

        Assert.Empty(beforeFinal);
        Assert.NotNull(pending);
        Assert.Equal(CallbackState.Pending, pending.State);
        Assert.Equal(0, pending.Attempts);
        var due = Assert.Single(afterFinal);
        Assert.Equal(new DueCallback(request.Id, Unit, 0), due);
        Assert.Empty(whileLeased);
    }

    /// <summary>Callback: cancelled request, is due.</summary>
    [Fact]
    public async Task Callback_CancelledRequest_IsDue()
    {
        var request = NewRequest() with { Callback = true };
        await Store.EnqueueAsync(request);

        await Store.CancelAsync(request.Id, Time.GetUtcNow());
        var due = await ClaimCallbacksAsync();

        Assert.Equal(request.Id, Assert.Single(due).RequestId);
    }

    /// <summary>Callback: failed try, is due again at next at with its attempts.</summary>
    [Fact]
    public async Task Callback_FailedTry_IsDueAgainAtNextAtWithItsAttempts()
    {
        var request = NewRequest() with { Callback = true };
        await Store.EnqueueAsync(request);
        await CompleteAsync(RequestState.Succeeded);
        Assert.Single(await ClaimCallbacksAsync());
        var next = Time.GetUtcNow() + TimeSpan.FromSeconds(4);

        var recorded = await Callbacks.RecordCallbackAsync(new CallbackDelivery(request.Id, CallbackState.Pending, 1, 503, "receiver answered 503", next));
        var status = await Callbacks.GetCallbackAsync(request.Id);
        Time.Advance(TimeSpan.FromSeconds(3));
        var early = await ClaimCallbacksAsync(TimeSpan.FromMinutes(5));
        Time.Advance(TimeSpan.FromSeconds(1));
        var onTime = await ClaimCallbacksAsync(TimeSpan.FromMinutes(5));

        Assert.True(recorded);
        Assert.Equal(new CallbackStatus(CallbackState.Pending, 1, 503, "receiver answered 503", next), status);
        Assert.Empty(early);
        Assert.Equal(new DueCallback(request.Id, Unit, 1), Assert.Single(onTime));
    }

    /// <summary>Callback: delivered, is final and survives reopen.</summary>
    [Fact]
    public async Task Callback_Delivered_IsFinalAndSurvivesReopen()
    {
        var request = NewRequest() with { Callback = true };
        await Store.EnqueueAsync(request);
        await CompleteAsync(RequestState.Succeeded);
        Assert.Single(await ClaimCallbacksAsync());

        await Callbacks.RecordCallbackAsync(new CallbackDelivery(request.Id, CallbackState.Delivered, 2, 200, null, Time.GetUtcNow()));
        await ReopenAsync();
        Time.Advance(TimeSpan.FromHours(1));
        var due = await ClaimCallbacksAsync();
        var status = await Callbacks.GetCallbackAsync(request.Id);

        Assert.Empty(due);
        Assert.NotNull(status);
        Assert.Equal(CallbackState.Delivered, status.State);
        Assert.Equal(2, status.Attempts);
        Assert.Equal(200, status.LastStatus);
        Assert.Null(status.LastError);
    }

    /// <summary>Callback: lease ends, is claimed again.</summary>
    [Fact]
    public async Task Callback_LeaseEnds_IsClaimedAgain()
    {
        var request = NewRequest() with { Callback = true };
        await Store.EnqueueAsync(request);
        await CompleteAsync(RequestState.Succeeded);
        Assert.Single(await ClaimCallbacksAsync(TimeSpan.FromSeconds(10)));

        Time.Advance(TimeSpan.FromSeconds(11));
        var again = await ClaimCallbacksAsync();

        Assert.Equal(request.Id, Assert.Single(again).RequestId);
    }

    /// <summary>Callback: unknown request, records nothing.</summary>
    [Fact]
    public async Task Callback_UnknownRequest_RecordsNothing()
    {
        var recorded = await Callbacks.RecordCallbackAsync(new CallbackDelivery(RequestId.New(Time), CallbackState.Delivered, 1, 200, null, Time.GetUtcNow()));

        Assert.False(recorded);
    }

    private Task<IReadOnlyList<DueCallback>> ClaimCallbacksAsync(TimeSpan? leaseFor = null) =>
        Callbacks.ClaimCallbacksAsync(new CallbackClaim(10, Time.GetUtcNow(), Time.GetUtcNow() + (leaseFor ?? TimeSpan.FromSeconds(30))));

    /// <summary>Claims the only queued request and records one attempt that moves it to <paramref name="final"/>.</summary>
    private async Task CompleteAsync(RequestState final)
    {
        var claimed = Assert.Single(await ClaimAsync());
        await Store.RecordAttemptAsync(Outcome(claimed, final == RequestState.Succeeded ? 200 : 502, final));
    }
}
