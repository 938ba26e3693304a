using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenQA.Selenium;

namespace NanoRun.Ui.Tests;

/// <summary>The UI as a person uses it, in a real headless Chromium; each test has its own server world.</summary>
[Collection(BrowserCollection.Name)]
public sealed class UiBrowserTests
{
    private readonly Browser _browser;

    public UiBrowserTests(Browser browser)
    {
        _browser = browser;
        _browser.Reset();
    }

    [Fact]
    public async Task SubmitForm_TextPayload_ShowsSucceededRequestAndItsResult()
    {
        await using var world = await UiWorld.Create().WithUnit("upper", "command: tr a-z A-Z\n").StartAsync();
        _browser.Go(world.Url("ui/units/upper"));

        _browser.Find("#payload").SendKeys("hello from the form");
        _browser.Find("form.submit button[type=submit]").Click();
        _browser.WaitForText("#outcome", "succeeded");
        var payload = _browser.Find("#payload").Text;
        _browser.Find("table.attempts a.code").Click();
        _browser.WaitUntil(d => d.FindElements(By.CssSelector("#result")).Count > 0, "the attempt page");

        Assert.Equal("hello from the form", payload);
        Assert.Equal("HELLO FROM THE FORM", _browser.Find("#result").Text);
        Assert.Equal("200", _browser.Find("#status").Text);
        Assert.Contains("/ui/units/upper/requests/", _browser.Driver.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestPage_CancelThenRetry_CancelsRunningAttemptAndQueuesCopy()
    {
        await using var world = await UiWorld.Create().WithUnit("slow", "command: 'echo started; sleep 120'\n").StartAsync();
        var id = await world.PostAsync("slow", "slow payload");
        _browser.Go(world.Url($"ui/units/slow/requests/{id}"));
        _browser.WaitForText("#outcome", "running");

        _browser.Click("button.danger");
        _browser.WaitForText("#outcome", "cancelled");
        var cancelledUrl = _browser.Driver.Url;
        _browser.Click(".actions button:not(.danger)");
        _browser.WaitUntil(d => d.Url != cancelledUrl && d.FindElements(By.CssSelector("#outcome")).Count > 0, "the new request's page");
        var retryUrl = _browser.Driver.Url;
        var retryPayload = _browser.Text("#payload");
        _browser.Click("button.danger");
        _browser.WaitForText("#outcome", "cancelled");

        Assert.EndsWith("/ui/units/slow/requests/" + id, cancelledUrl, StringComparison.Ordinal);
        Assert.Matches("/ui/units/slow/requests/[0-9a-f]{32}$", retryUrl);
        Assert.DoesNotContain(id, retryUrl, StringComparison.Ordinal);
        Assert.Equal("slow payload", retryPayload);
        var original = await world.WaitCompleteAsync("slow", id);
        Assert.Equal("cancelled", original.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task UnitPage_60Requests_OlderLinksPageThroughEveryRequestNewestFirst()
    {
        await using var world = await UiWorld.Create().WithUnit("many", "command: cat\n").StartAsync();
        var posted = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            posted.Add(await world.PostAsync("many", "n" + i));
        }

        _browser.Go(world.Url("ui/units/many"));
        var pages = new List<List<string>>();
        while (true)
        {
            pages.Add(_browser.FindAll("table.requests a.id").Select(a => a.Text).ToList());
            var older = _browser.FindAll("a[rel=next]");
            if (older.Count == 0)
            {
                break;
            }

            var before = _browser.Driver.Url;
            older[0].Click();
            _browser.WaitUntil(d => d.Url != before, "the older page");
        }

        Assert.Equal([25, 25, 10], pages.Select(p => p.Count));
        Assert.Equal(Enumerable.Reverse(posted), pages.SelectMany(p => p));
        Assert.Single(_browser.FindAll("a[rel=first]"));
    }

    [Fact]
    public async Task RequestAndAttemptPages_ScriptInHeaderAndBody_ShownAsTextAndNeverRun()
    {
        const string body = "<script>window.__pwned = 'body'</script><img src=x onerror=\"window.__pwned = 'img'\">";
        const string header = "<script>window.__pwned = 'header'</script>";
        await using var world = await UiWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var id = await world.PostAsync("echo", body, ("X-Evil", header));
        var record = await world.WaitCompleteAsync("echo", id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();

        _browser.Go(world.Url($"ui/units/echo/requests/{id}"));
        var payloadText = _browser.Find("#payload").Text;
        var headerText = _browser.Find("dl.headers").Text;
        var requestPwned = _browser.Script<object?>("return window.__pwned === undefined ? null : window.__pwned;");
        _browser.Go(world.Url($"ui/units/echo/requests/{id}/attempts/{attemptId}"));
        var resultText = _browser.Find("#result").Text;
        var attemptPwned = _browser.Script<object?>("return window.__pwned === undefined ? null : window.__pwned;");

        Assert.Equal(body, payloadText);
        Assert.Contains(header, headerText, StringComparison.Ordinal);
        Assert.Equal(body, resultText);
        Assert.Null(requestPwned);
        Assert.Null(attemptPwned);
        Assert.Empty(_browser.FindAll("main script"));
    }

    [Fact]
    public async Task SubmitForm_PostedFromAnotherSite_IsRefusedAndNothingIsQueued()
    {
        await using var world = await UiWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        _browser.Go(world.Url("ui/units/echo"));
        await using var attacker = await StartAttackerAsync(world.Url("ui/units/echo"));

        _browser.Go(attacker.Url);
        _browser.WaitUntil(d => d.Url.StartsWith(world.BaseAddress.ToString(), StringComparison.Ordinal), "the cross-site post to arrive");
        var heading = _browser.Find("h1").Text;
        using var unitPage = await world.Client.GetAsync("ui/units/echo");
        var html = await unitPage.Content.ReadAsStringAsync();

        Assert.Equal("Form refused", heading);
        Assert.Contains("<b>0</b> queued", html, StringComparison.Ordinal);
        Assert.Contains("No requests", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_FakeProvider_SignsInShowsUserAndSignsOut()
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        await using var world = await UiWorld.Create(provider.ServerYaml("alice", "bob")).WithUnit("echo", "command: cat\n").StartAsync();

        _browser.Go(world.Url("ui/units/echo"));
        _browser.WaitUntil(d => d.Url.Contains("/ui/auth/login", StringComparison.Ordinal), "the login page");
        _browser.Find("#login").Click();
        _browser.WaitUntil(d => d.FindElements(By.CssSelector(".user")).Count > 0, "the signed-in page");
        var user = _browser.Find(".user").Text;
        var landedOn = _browser.Driver.Url;
        _browser.Find("#payload").SendKeys("signed in");
        _browser.Find("form.submit button[type=submit]").Click();
        _browser.WaitForText("#outcome", "succeeded");
        _browser.Find(".who button").Click();
        _browser.WaitUntil(d => d.Url.Contains("/ui/auth/login", StringComparison.Ordinal), "the signed-out page");
        var message = _browser.Find("#message").Text;
        _browser.Go(world.Url("ui/"));
        var afterLogout = _browser.Driver.Url;

        Assert.Equal("alice", user);
        Assert.Equal(world.Url("ui/units/echo").ToString(), landedOn);
        Assert.Equal("You are signed out.", message);
        Assert.Contains("/ui/auth/login?return=", afterLogout, StringComparison.Ordinal);
        Assert.Equal(1, provider.TokensIssued);
    }

    [Fact]
    public async Task Login_UserNotInAllowedList_IsRefused()
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        provider.Login = "mallory";
        await using var world = await UiWorld.Create(provider.ServerYaml("alice")).WithUnit("echo", "command: cat\n").StartAsync();

        _browser.Go(world.Url("ui/"));
        _browser.Find("#login").Click();
        _browser.WaitUntil(d => d.FindElement(By.CssSelector("h1")).Text == "Not allowed", "the refusal");
        var message = _browser.Find("#message").Text;
        _browser.Go(world.Url("ui/"));

        Assert.Equal("mallory is not allowed to use this server.", message);
        Assert.Contains("/ui/auth/login", _browser.Driver.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pages_PhoneWidth_FitWithoutHorizontalScroll()
    {
        await using var world = await UiWorld.Create()
            .WithUnit("a-unit-with-a-rather-long-name-for-a-phone", "command: cat\nenvironment:\n  SOME_LONG_VARIABLE_NAME: a-long-value-without-any-spaces-that-must-wrap-somewhere\ncron:\n  - spec: '@every 1h'\n    content: tick\n")
            .StartAsync();
        var unit = "a-unit-with-a-rather-long-name-for-a-phone";
        var id = await world.PostAsync(unit, new string('x', 500) + " " + string.Concat(Enumerable.Repeat("word ", 200)), ("X-Long-Header", new string('h', 300)));
        var record = await world.WaitCompleteAsync(unit, id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();
        _browser.EmulatePhone();
        string[] pages = ["ui/", $"ui/units/{unit}", $"ui/units/{unit}/requests/{id}", $"ui/units/{unit}/requests/{id}/attempts/{attemptId}", "ui/schedules"];

        var shots = Path.Combine(Path.GetTempPath(), "nano-run-ui-screenshots");
        Directory.CreateDirectory(shots);
        var overflowing = new List<string>();
        for (var i = 0; i < pages.Length; i++)
        {
            var page = pages[i];
            _browser.Go(world.Url(page));
            var viewport = _browser.Script<long>("return window.innerWidth;");
            var content = _browser.Script<long>("return document.documentElement.scrollWidth;");
            var screenshot = ((ITakesScreenshot)_browser.Driver).GetScreenshot();
            var file = Path.Combine(shots, $"phone-{i}-{page.Split('/')[^1]}.png".Replace("-.png", ".png", StringComparison.Ordinal));
            screenshot.SaveAsFile(file);
            var pngWidth = PngWidth(screenshot.AsByteArray);
            if (content > viewport || pngWidth != viewport)
            {
                overflowing.Add($"{page}: viewport {viewport}, content {content}, screenshot {pngWidth}");
            }
        }

        Assert.Empty(overflowing);
    }

    /// <summary>The width field of a PNG's header chunk.</summary>
    private static long PngWidth(byte[] png) => (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];

    /// <summary>A page on another site (<c>localhost</c> rather than <c>127.0.0.1</c>) that posts the submit form to the UI as soon as it loads.</summary>
    private static async Task<Attacker> StartAttackerAsync(Uri target)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var html = $"""
            <!DOCTYPE html><html><body>
            <form id="f" method="post" action="{target}" enctype="multipart/form-data">
              <input name="payload" value="forged">
            </form>
            <script>document.getElementById('f').submit();</script>
            </body></html>
            """;
        app.MapGet("/", () => Results.Content(html, "text/html"));
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        return new Attacker(app, new Uri($"http://localhost:{address.Port}/"));
    }

    private sealed record Attacker(WebApplication App, Uri Url) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
