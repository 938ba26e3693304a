using OpenQA.Selenium;

namespace NanoRun.Ui.Tests;

/// <summary>Pausing and resuming a unit and a schedule entry, and running an entry now, from the pages in a real headless Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class PauseBrowserTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    private readonly Browser _browser;

    public PauseBrowserTests(Browser browser)
    {
        _browser = browser;
        _browser.Reset();
    }

    [Fact]
    public async Task UnitPage_PauseThenResume_RequestWaitsUntilResumed()
    {
        await using var world = await UiWorld.Create().WithUnit("work", "command: cat\n").StartAsync();

        _browser.Go(world.Url("ui/units/work"));
        _browser.Click("#pause");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("#paused")).Count > 0, "the paused badge");
        var since = _browser.Text("#paused-since");
        var id = await world.PostAsync("work", "held back");
        await Task.Delay(Settle);
        using var held = await world.Client.GetAsync($"api/work/{id}");
        _browser.Go(world.Url("ui/"));
        var overviewTags = _browser.FindAll("table.units .tag.paused").Count;
        _browser.Go(world.Url("ui/units/work"));
        _browser.Click("#resume");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("#pause")).Count > 0, "the pause button again");
        var record = await world.WaitCompleteAsync("work", id, TimeSpan.FromSeconds(10));

        Assert.Matches(@"^Paused since \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", since);
        Assert.Equal("queued", held.Headers.GetValues("X-Outcome").Single());
        Assert.Equal(1, overviewTags);
        Assert.Empty(_browser.FindAll("#paused"));
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task SchedulesPage_PauseRunNowResume_TicksStopOneRequestIsQueuedTicksResume()
    {
        await using var world = await UiWorld.Create()
            .WithUnit("report", "command: cat\ncron:\n  - spec: '@every 1s'\n    name: beat\n  - spec: '@yearly'\n    name: annual\n    content: 'yearly report'\n")
            .StartAsync();

        _browser.Go(world.Url("ui/schedules"));
        _browser.Click("button[name=pause][value=beat]");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector(".tag.paused")).Count == 1, "the paused tag");
        await Task.Delay(TimeSpan.FromMilliseconds(1200));
        var before = await world.Client.CountRequestsAsync("report");
        await Task.Delay(Settle);
        var whilePaused = await world.Client.CountRequestsAsync("report");
        _browser.Click("button[name=trigger][value=annual]");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("#queued a")).Count > 0, "the queued request's link");
        var queued = _browser.Text("#queued a");
        var afterRunNow = await world.Client.CountRequestsAsync("report");
        var record = await world.WaitCompleteAsync("report", queued, TimeSpan.FromSeconds(10));
        _browser.Click("#queued a");
        _browser.WaitUntil(d => d.Url.EndsWith("/ui/units/report/requests/" + queued, StringComparison.Ordinal), "the queued request's page");
        _browser.Go(world.Url("ui/schedules"));
        _browser.Click("button[name=pause][value=beat]");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector(".tag.paused")).Count == 0, "the paused tag to go");
        var resumed = await world.Client.WaitCountAboveAsync("report", afterRunNow);

        Assert.Equal(before, whilePaused);
        Assert.Equal(whilePaused + 1, afterRunNow);
        Assert.Equal("/api/report/?cron=annual", record.GetProperty("uri").GetString());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.True(resumed > afterRunNow, "the resumed entry queued nothing");
    }
}
