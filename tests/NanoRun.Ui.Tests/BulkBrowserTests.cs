using System.Net;
using OpenQA.Selenium;

namespace NanoRun.Ui.Tests;

/// <summary>The unit list's selection and the search boxes, in a real headless Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class BulkBrowserTests
{
    private readonly Browser _browser;

    public BulkBrowserTests(Browser browser)
    {
        _browser = browser;
        _browser.Reset();
    }

    [Fact]
    public async Task UnitPage_SelectThreeAndCancel_CancelsExactlyThose()
    {
        await using var world = await UiWorld.Create().WithUnit("held", "command: cat\n").StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            using var post = await world.Client.PostAsync("api/held/?delay=1h", new StringContent("n" + i));
            Assert.Equal(HttpStatusCode.SeeOther, post.StatusCode);
            ids.Add(post.Headers.GetValues("X-Correlation-Id").Single());
        }

        _browser.Go(world.Url("ui/units/held"));
        foreach (var id in ids.Take(3))
        {
            _browser.Click($"input[type=checkbox][value='{id}']");
        }

        _browser.Click("button[name=action][value=cancel]");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("#message")).Count > 0, "the answer page");
        var message = _browser.Text("#message");

        Assert.StartsWith("Cancelled 3 of 3 selected requests.", message, StringComparison.Ordinal);
        foreach (var id in ids.Take(3))
        {
            Assert.Equal("cancelled", (await world.WaitCompleteAsync("held", id, TimeSpan.FromSeconds(5))).GetProperty("outcome").GetString());
        }

        foreach (var id in ids.Skip(3))
        {
            using var record = await world.Client.GetAsync($"api/held/{id}");
            Assert.Equal("queued", record.Headers.GetValues("X-Outcome").Single());
        }
    }

    [Fact]
    public async Task Search_IdPrefixOnUnitPageWholeIdAndHeaderValueOnOverview_FindTheRequests()
    {
        await using var world = await UiWorld.Create().WithUnit("echo", "command: cat\n").WithUnit("other", "command: cat\n").StartAsync();
        var wanted = await world.PostAsync("echo", "wanted", ("X-Order", "order-9"));
        await world.PostAsync("echo", "not wanted", ("X-Order", "order-10"));
        var elsewhere = await world.PostAsync("other", "elsewhere", ("X-Order", "Order-9"));

        _browser.Go(world.Url("ui/units/echo"));
        _browser.Find("#unit-search").SendKeys(wanted[..16]);
        _browser.Click("form.search button[type=submit]");
        _browser.WaitUntil(d => d.Url.Contains("q=", StringComparison.Ordinal), "the search's list");
        var found = _browser.FindAll("table.requests a.id").Select(a => a.Text).ToList();
        _browser.Go(world.Url("ui/"));
        _browser.Find("#search").SendKeys(elsewhere);
        _browser.Click("form.search button[type=submit]");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("#outcome")).Count > 0, "the request's page");
        var openedUrl = _browser.Driver.Url;
        _browser.Go(world.Url("ui/"));
        _browser.Find("#search").SendKeys("order-9");
        _browser.Click("form.search button[type=submit]");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("section.search-unit")).Count > 0, "the search's results");
        var listed = _browser.FindAll("section.search-unit")
            .Select(s => (Unit: s.GetDomAttribute("data-unit"), Ids: s.FindElements(By.CssSelector("a.id")).Select(a => a.Text).ToList()))
            .ToList();
        _browser.Click("section.search-unit[data-unit=other] a.id");
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("#outcome")).Count > 0, "the matching request's page");

        Assert.Equal([wanted], found);
        Assert.EndsWith("/ui/units/other/requests/" + elsewhere, openedUrl, StringComparison.Ordinal);
        Assert.Equal(["echo", "other"], listed.Select(l => l.Unit));
        Assert.Equal([wanted], listed[0].Ids);
        Assert.Equal([elsewhere], listed[1].Ids);
        Assert.EndsWith("/ui/units/other/requests/" + elsewhere, _browser.Driver.Url, StringComparison.Ordinal);
    }
}
