using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The <see cref="IPauseStore"/> contract: a pause is listed with the time it began until it is resumed, a repeated
/// pause keeps that time, and a unit's pause and its schedule entries' pauses are apart; the provider's request store must implement it.</summary>
/// <typeparam name="TWorld">The provider's world.</typeparam>
public abstract class PauseStoreConformanceTests<TWorld> : StoreConformanceTests<TWorld>
    where TWorld : StoreWorld, new()
{
    private IPauseStore Pauses => Assert.IsAssignableFrom<IPauseStore>(Store);

    /// <summary>ListPaused: nothing paused, lists nothing.</summary>
    [Fact]
    public async Task ListPaused_NothingPaused_IsEmpty()
    {
        var listed = await Pauses.ListPausedAsync();

        Assert.Empty(listed);
    }

    /// <summary>SetPaused: a unit and a schedule entry paused, are listed apart with the time each began, by unit then entry.</summary>
    [Fact]
    public async Task SetPaused_UnitAndEntry_AreListedApartWithTheirTimes()
    {
        var unitAt = Time.GetUtcNow();
        await Pauses.SetPausedAsync(new PauseChange("job", null, true, unitAt));
        Time.Advance(TimeSpan.FromSeconds(3));
        var entryAt = Time.GetUtcNow();

        await Pauses.SetPausedAsync(new PauseChange("job", "nightly", true, entryAt));
        await Pauses.SetPausedAsync(new PauseChange("echo", "0", true, entryAt));
        var listed = await Pauses.ListPausedAsync();

        Assert.Equal(
            [new PausedTarget("echo", "0", entryAt), new PausedTarget("job", null, unitAt), new PausedTarget("job", "nightly", entryAt)],
            listed);
    }

    /// <summary>SetPaused: pausing again, keeps the time the pause began.</summary>
    [Fact]
    public async Task SetPaused_PausedAgain_KeepsTheFirstTime()
    {
        var first = Time.GetUtcNow();
        await Pauses.SetPausedAsync(new PauseChange("job", null, true, first));
        Time.Advance(TimeSpan.FromMinutes(1));

        await Pauses.SetPausedAsync(new PauseChange("job", null, true, Time.GetUtcNow()));
        var listed = await Pauses.ListPausedAsync();

        Assert.Equal(first, Assert.Single(listed).Since);
    }

    /// <summary>SetPaused: resumed, is no longer listed; the unit's entry stays paused; resuming again does nothing.</summary>
    [Fact]
    public async Task SetPaused_Resumed_IsNoLongerListed()
    {
        await Pauses.SetPausedAsync(new PauseChange("job", null, true, Time.GetUtcNow()));
        await Pauses.SetPausedAsync(new PauseChange("job", "nightly", true, Time.GetUtcNow()));

        await Pauses.SetPausedAsync(new PauseChange("job", null, false, Time.GetUtcNow()));
        await Pauses.SetPausedAsync(new PauseChange("job", null, false, Time.GetUtcNow()));
        var listed = await Pauses.ListPausedAsync();

        Assert.Equal("nightly", Assert.Single(listed).Schedule);
    }
}
