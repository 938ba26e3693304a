using System.Net;
using System.Text;

namespace NanoRun.Ui.Tests;

/// <summary>A stored HTML body opened straight from the API in a real browser never runs script on the server's origin.</summary>
[Collection(BrowserCollection.Name)]
public sealed class StoredBodyBrowserTests
{
    // Leaves a marker in the origin's storage and cookies and in the title, wherever it is allowed to run.
    private const string Page = "<html><head><title>stored</title></head><body><p id=\"shown\">stored page</p><script>"
        + "document.title = 'ran'; document.cookie = 'marker=ran; path=/'; localStorage.setItem('marker', 'ran');"
        + "</script></body></html>";

    private readonly Browser _browser;

    public StoredBodyBrowserTests(Browser browser)
    {
        _browser = browser;
        _browser.Reset();
    }

    [Fact]
    public async Task ApiRequestAndAttempt_StoredHtmlWithScript_OpenedInBrowserRunsNoScript()
    {
        await using var world = UiWorld.Create();
        var script = Path.Combine(world.Root, "page.cgi");
        await File.WriteAllTextAsync(script, "#!/bin/sh\nprintf 'Content-Type: text/html\\r\\n\\r\\n'\ncat\n");
        await world.WithUnit("page", $"mode: cgi\ncommand: /bin/sh {script}\n").StartAsync();
        using var post = new HttpRequestMessage(HttpMethod.Post, "api/page/") { Content = new StringContent(Page, Encoding.UTF8, "text/html") };
        using var posted = await world.Client.SendAsync(post);
        Assert.Equal(HttpStatusCode.SeeOther, posted.StatusCode);
        var id = posted.Headers.GetValues("X-Correlation-Id").Single();
        var record = await world.WaitCompleteAsync("page", id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();

        var titles = new List<string>();
        foreach (var path in new[] { $"api/page/{id}/request", $"api/page/{id}/attempt/{attemptId}" })
        {
            _browser.Go(world.Url(path));
            _browser.WaitForText("#shown", "stored page");
            titles.Add(_browser.Driver.Title);
        }

        // Back on a page of the origin itself, where script runs, read what the stored pages could have left.
        _browser.Go(world.Url("ui/"));
        var stored = _browser.Script<object?>("return localStorage.getItem('marker');");
        var cookies = _browser.Script<string>("return document.cookie;");

        Assert.Equal(["stored", "stored"], titles);
        Assert.Null(stored);
        Assert.DoesNotContain("marker", cookies, StringComparison.Ordinal);
    }
}
