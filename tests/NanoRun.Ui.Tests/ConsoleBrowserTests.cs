using OpenQA.Selenium;

namespace NanoRun.Ui.Tests;

/// <summary>What an operator sees of a failing unit, of time, and on a phone, in a real headless Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ConsoleBrowserTests
{
    private readonly Browser _browser;

    public ConsoleBrowserTests(Browser browser)
    {
        _browser = browser;
        _browser.Reset();
    }

    [Fact]
    public async Task AttemptPage_FailingUnit_ShowsItsStderrNextToTheReturnCode()
    {
        await using var world = await UiWorld.Create()
            .WithUnit("failing", "command: \"echo 'cannot open /srv/in.csv: <no such file>' >&2; exit 3\"\nattempts: 1\n")
            .StartAsync();
        var id = await world.PostAsync("failing", "x");
        await world.WaitCompleteAsync("failing", id);
        _browser.Go(world.Url($"ui/units/failing/requests/{id}"));
        var requestPageStderr = _browser.Text("#stderr-text");

        _browser.Click("table.attempts a.code");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("#stderr")).Count > 0, "the attempt page");
        var details = _browser.Text("dl.props");
        var stderr = _browser.Text("#stderr-text");

        Assert.Equal("cannot open /srv/in.csv: <no such file>", requestPageStderr);
        Assert.Equal("cannot open /srv/in.csv: <no such file>", stderr);
        Assert.Contains("Return code\n3", details, StringComparison.Ordinal);
        Assert.Contains("Stderr\n", details, StringComparison.Ordinal);
        Assert.Empty(_browser.FindAll("#stderr-text b"));
    }

    [Fact]
    public async Task RequestPage_RunningAttempt_SaysSoWithoutNoneYetAndTellsTimesInUtc()
    {
        await using var world = await UiWorld.Create().WithUnit("slow", "command: 'sleep 120'\n").StartAsync();
        var id = await world.PostAsync("slow", "x");
        _browser.Go(world.Url($"ui/units/slow/requests/{id}"));
        _browser.WaitForText("#outcome", "running");
        _browser.Go(world.Url($"ui/units/slow/requests/{id}"));

        var running = _browser.Text("#running-attempt");
        var empties = _browser.FindAll(".empty").Select(e => e.Text).ToList();
        var times = _browser.FindAll("time").Select(t => t.Text).ToList();
        var waited = _browser.Text("#waited");
        _browser.Click("button.danger");
        _browser.WaitForText("#outcome", "cancelled");

        Assert.StartsWith("Attempt 1 is running", running, StringComparison.Ordinal);
        Assert.DoesNotContain("None yet.", empties);
        Assert.NotEmpty(times);
        Assert.All(times, t => Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", t));
        Assert.Contains("receipt to first attempt", waited, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnitPage_PhoneWidth_TagsStayWholeAndTheListComesBeforeTheForm()
    {
        const string Unit = "nightly-invoice-export";
        await using var world = await UiWorld.Create()
            .WithUnit(Unit, "command: cat\nauthorization:\n  header_token:\n    tokens: [t]\ncron:\n  - spec: '@every 1h'\n    content: tick\n")
            .WithUnit("private-nightly-export", "command: cat\nprivate: true\ncron:\n  - spec: '@every 1h'\n    content: tick\n")
            .StartAsync();
        _browser.EmulatePhone();

        var broken = new List<string>();
        var formFirst = new List<string>();
        foreach (var unit in new[] { Unit, "private-nightly-export" })
        {
            _browser.Go(world.Url("ui/units/" + unit));
            broken.AddRange(_browser.Script<IReadOnlyCollection<object>>(
                "return Array.from(document.querySelectorAll('.tag')).filter(t => t.getClientRects().length !== 1 || t.getBoundingClientRect().height > parseFloat(getComputedStyle(t).fontSize) * 2.2).map(t => t.textContent);")
                .Select(o => unit + ": " + o));
            if (_browser.Script<bool>("return document.querySelector('.submit-card').getBoundingClientRect().top < document.querySelector('#requests').getBoundingClientRect().top;"))
            {
                formFirst.Add(unit);
            }
        }

        _browser.Reset();
        _browser.Go(world.Url("ui/units/" + Unit));
        var formFirstOnDesktop = _browser.Script<bool>("return document.querySelector('.submit-card').getBoundingClientRect().top < document.querySelector('#requests').getBoundingClientRect().top;");

        Assert.Empty(broken);
        Assert.Empty(formFirst);
        Assert.True(formFirstOnDesktop);
    }
}
