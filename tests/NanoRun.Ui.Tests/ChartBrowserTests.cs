using OpenQA.Selenium;

namespace NanoRun.Ui.Tests;

/// <summary>The activity charts in a real headless Chromium, at desktop and phone widths; also writes the documentation's screenshots when asked.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ChartBrowserTests
{
    /// <summary>Names a folder to write the documentation's screenshots to (<c>docs/ui</c>); unset, no screenshots are written.</summary>
    public const string ScreenshotsVariable = "NANO_RUN_SCREENSHOTS";

    private readonly Browser _browser;

    public ChartBrowserTests(Browser browser)
    {
        _browser = browser;
        _browser.Reset();
    }

    [Fact]
    public async Task UnitPage_DesktopAndPhone_ChartsFitAndFailedBarsOpenTheFailedList()
    {
        await using var world = await UiWorld.Create().WithUnit("mixed", "command: 'read x; [ \"$x\" = ok ]'\nattempts: 1\n").StartAsync();
        foreach (var body in new[] { "ok\n", "ok\n", "no\n" })
        {
            await world.WaitCompleteAsync("mixed", await world.PostAsync("mixed", body));
        }

        var measured = new List<string>();
        foreach (var phone in new[] { false, true })
        {
            if (phone)
            {
                _browser.EmulatePhone();
            }

            _browser.Go(world.Url("ui/units/mixed"));
            var viewport = _browser.Script<long>("return window.innerWidth;");
            var content = _browser.Script<long>("return document.documentElement.scrollWidth;");
            var charts = _browser.FindAll(".charts svg.chart");
            var widest = Convert.ToDouble(_browser.Script<object>("return Math.max(...[...document.querySelectorAll('.charts svg.chart')].map(s => s.getBoundingClientRect().right));"), System.Globalization.CultureInfo.InvariantCulture);
            var label = Convert.ToDouble(_browser.Script<object>("return document.querySelector('.charts svg.chart text.axis').getBoundingClientRect().height;"), System.Globalization.CultureInfo.InvariantCulture);
            measured.Add($"{(phone ? "phone" : "desktop")}: {charts.Count} charts, viewport {viewport}, content {content}, right edge {widest:0}, label {label:0.0}px");

            Assert.Equal(2, charts.Count);
            Assert.True(content <= viewport, measured[^1]);
            Assert.True(widest <= viewport, measured[^1]);
            Assert.True(label >= 9, measured[^1]);
            Assert.NotEmpty(_browser.FindAll(".charts svg.chart rect.received"));
            Assert.NotEmpty(_browser.FindAll(".charts svg.chart path.succeeded"));
        }

        _browser.Find(".charts svg.chart a rect.failed").Click();
        _browser.WaitUntil(d => d.Url.EndsWith("?state=failed", StringComparison.Ordinal), "the failed list");
        var listed = _browser.FindAll("table.requests tbody tr").Count;
        _browser.Go(world.Url("ui/"));
        var small = _browser.FindAll("td.spark svg.chart.small").Count;
        _browser.Find("td[data-label=Failed] a.count").Click();
        _browser.WaitUntil(d => d.Url.EndsWith("/ui/units/mixed?state=failed", StringComparison.Ordinal), "the failed list from the overview");

        Assert.Equal(1, listed);
        Assert.Equal(1, small);
    }

    [Fact]
    public async Task Screenshots_MainPages_WrittenWhenAFolderIsNamed()
    {
        var folder = Environment.GetEnvironmentVariable(ScreenshotsVariable);
        if (string.IsNullOrEmpty(folder))
        {
            return;
        }

        Directory.CreateDirectory(folder);
        await using var world = await UiWorld.Create()
            .WithUnit("resize", "command: 'read x; [ \"$x\" != bad ] || { echo \"convert: cannot open input: $x.png (no such file)\" >&2; exit 3; }; echo resized $x'\nattempts: 1\n")
            .WithUnit("nightly-report", "command: 'echo report'\ncron:\n  - spec: '@every 1h'\n    content: run\n")
            .StartAsync();
        string? failed = null;
        for (var i = 0; i < 12; i++)
        {
            var body = i % 5 == 4 ? "bad\n" : $"photo-{i}\n";
            var id = await world.PostAsync("resize", body);
            await world.WaitCompleteAsync("resize", id);
            failed = body == "bad\n" ? id : failed;
        }

        var record = await world.WaitCompleteAsync("resize", failed!);
        var attempt = record.GetProperty("attempts")[0].GetProperty("id").GetString();

        Shot(world, "ui/", Path.Combine(folder, "overview.png"));
        Shot(world, "ui/units/resize", Path.Combine(folder, "unit.png"));
        Shot(world, $"ui/units/resize/requests/{failed}", Path.Combine(folder, "request.png"));
        Shot(world, $"ui/units/resize/requests/{failed}/attempts/{attempt}", Path.Combine(folder, "attempt-stderr.png"));
        // The start of an id (its first 8 characters span about a minute of arrivals): the search page lists the matches.
        Shot(world, $"ui/search?q={failed![..8]}", Path.Combine(folder, "search.png"));
        _browser.EmulatePhone();
        Shot(world, "ui/units/resize", Path.Combine(folder, "unit-phone.png"));

        Assert.True(File.Exists(Path.Combine(folder, "unit-phone.png")));
    }

    /// <summary>Saves the whole page, not just the viewport, by sizing the window to the page's height first.</summary>
    private void Shot(UiWorld world, string page, string file)
    {
        _browser.Go(world.Url(page));
        var height = _browser.Script<long>("return document.documentElement.scrollHeight;");
        var width = _browser.Script<long>("return window.innerWidth;");
        _browser.Viewport(width, Math.Min(height, 4000), mobile: width < 600);
        ((ITakesScreenshot)_browser.Driver).GetScreenshot().SaveAsFile(file);
    }
}
