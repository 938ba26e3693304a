using NanoRun.Requests;
using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The <see cref="IActivityStore"/> contract: arrivals and final outcomes counted per time bucket of one unit.
/// A provider that does not implement it passes trivially.</summary>
/// <typeparam name="TWorld">The provider's world.</typeparam>
public abstract class ActivityConformanceTests<TWorld> : StoreConformanceTests<TWorld>
    where TWorld : StoreWorld, new()
{
    /// <summary>Count activity: mixed outcomes over minutes, counts arrivals by creation and successes and failures by completion, in that unit and window only.</summary>
    [Fact]
    public async Task CountActivity_MixedOutcomes_CountsArrivalsAndOutcomesPerBucket()
    {
        if (Store is not IActivityStore activity)
        {
            return;
        }

        // The clock starts at 03:04:05.678: three arrivals in minute 4, two of them end there and then.
        await EnqueueManyAsync(3);
        await EnqueueManyAsync(2, unit: "other");
        var claimed = await ClaimAsync(limit: 3);
        await Store.RecordAttemptAsync(Outcome(claimed[0], 200, RequestState.Succeeded));
        await Store.RecordAttemptAsync(Outcome(claimed[1], 500, RequestState.Retrying));
        Time.Advance(TimeSpan.FromMinutes(2));
        await Store.RecordAttemptAsync(Outcome(claimed[2], 500, RequestState.Failed));
        var cancelled = await EnqueueManyAsync(1);
        await Store.CancelAsync(cancelled[0], Time.GetUtcNow());
        Time.Advance(TimeSpan.FromMinutes(10));
        await EnqueueManyAsync(1);
        var start = new DateTimeOffset(2025, 1, 2, 3, 0, 0, TimeSpan.Zero);

        var minutes = await activity.CountActivityAsync(new ActivityParams(Unit, start, TimeSpan.FromMinutes(1), 10));
        var halves = await activity.CountActivityAsync(new ActivityParams(Unit, start.AddMinutes(5), TimeSpan.FromSeconds(30), 4));
        var nobody = await activity.CountActivityAsync(new ActivityParams("nobody", start, TimeSpan.FromHours(1), 24));

        var expected = new ActivityBucket[10];
        expected[4] = new ActivityBucket(Received: 3, Succeeded: 1, Failed: 0);
        expected[6] = new ActivityBucket(Received: 1, Succeeded: 0, Failed: 1);
        Assert.Equal(expected, minutes);
        Assert.Equal([default, default, new ActivityBucket(1, 0, 1), default], halves);
        Assert.Equal(new ActivityBucket[24], nobody);
    }

    /// <summary>Count activity: a window that is not valid is refused.</summary>
    [Fact]
    public async Task CountActivity_BadWindow_IsRejected()
    {
        if (Store is not IActivityStore activity)
        {
            return;
        }

        var now = Time.GetUtcNow();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => activity.CountActivityAsync(new ActivityParams(Unit, now, TimeSpan.Zero, 10)));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => activity.CountActivityAsync(new ActivityParams(Unit, now, TimeSpan.FromMinutes(1), 0)));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => activity.CountActivityAsync(new ActivityParams(Unit, now, TimeSpan.FromMinutes(1), ActivityParams.MaxBuckets + 1)));
    }
}
