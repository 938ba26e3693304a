using System.Text;

namespace NanoRun.Server.Tests.Api;

/// <summary>Answers that serve stored bytes never let a browser run them on the server's origin, and replay only content headers.</summary>
public sealed class StoredBodyTests
{
    private const string Page = "<html><body><script>document.title='ran'</script></body></html>";

    [Fact]
    public async Task GetRequest_StoredHtmlWithHostileHeaders_SandboxedAndOnlyContentHeadersReplayed()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var posted = await RawHttp.SendAsync(world, """
            POST /api/echo/ HTTP/1.1
            Content-Type: text/html; charset=utf-8
            Content-Language: en
            Set-Cookie: sid=stolen; Path=/
            Refresh: 0; url=/ui/
            Content-Security-Policy: script-src *
            Access-Control-Allow-Origin: *
            Access-Control-Allow-Credentials: true
            Location: /ui/
            X-Accel-Redirect: /internal/secret
            X-Trace: t-1
            """, Encoding.UTF8.GetBytes(Page));
        Assert.Equal(303, posted.Status);
        var id = posted.Single("X-Correlation-Id");

        var saved = await RawHttp.GetAsync(world, $"/api/echo/{id}/request");

        Assert.Equal(200, saved.Status);
        Assert.Equal(Page, saved.BodyText);
        Assert.Equal("sandbox", saved.Single("Content-Security-Policy"));
        Assert.Equal("nosniff", saved.Single("X-Content-Type-Options"));
        Assert.Equal("text/html; charset=utf-8", saved.Single("Content-Type"));
        Assert.Equal("en", saved.Single("Content-Language"));
        Assert.Equal("t-1", saved.Single("X-Trace"));
        Assert.Empty(saved.Values("Set-Cookie"));
        Assert.Empty(saved.Values("Refresh"));
        Assert.Empty(saved.Values("Access-Control-Allow-Origin"));
        Assert.Empty(saved.Values("Access-Control-Allow-Credentials"));
        Assert.Empty(saved.Values("Location"));
        Assert.Empty(saved.Values("X-Accel-Redirect"));
    }

    [Fact]
    public async Task GetAttempt_HtmlResultWithHostileHeaders_SandboxedOnEveryRouteThatServesIt()
    {
        await using var world = TestWorld.Create();
        var script = Path.Combine(world.Root, "page.cgi");
        await File.WriteAllTextAsync(script, """
            #!/bin/sh
            cat >/dev/null
            printf 'Status: 200 OK\r\n'
            printf 'Content-Type: text/html\r\n'
            printf 'Set-Cookie: sid=stolen; Path=/\r\n'
            printf 'Refresh: 0; url=/ui/\r\n'
            printf 'Content-Security-Policy: script-src *\r\n'
            printf 'Access-Control-Allow-Origin: *\r\n'
            printf 'Location: /next\r\n'
            printf 'ETag: "v1"\r\n'
            printf 'X-Greeting: hello\r\n'
            printf '\r\n'
            printf '%s' "<script>document.title='ran'</script>"
            """.ReplaceLineEndings("\n"));
        await world.WithUnit("page", $"mode: cgi\ncommand: /bin/sh {script}\n").StartAsync();
        var id = await world.PostAsync("page", "x");
        var record = await world.WaitCompleteAsync("page", id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();

        var attempt = await RawHttp.GetAsync(world, $"/api/page/{id}/attempt/{attemptId}");
        var completed = await RawHttp.GetAsync(world, $"/api/page/{id}/completed");
        var followed = await RawHttp.GetAsync(world, new Uri(new Uri(world.BaseAddress, $"api/page/{id}/completed"), completed.Single("Location")).AbsolutePath);
        var stream = await RawHttp.GetAsync(world, $"/api/page/{id}/attempt/{attemptId}/stream");

        Assert.Equal(301, completed.Status);
        foreach (var served in new[] { attempt, followed })
        {
            Assert.Equal(200, served.Status);
            Assert.Equal("<script>document.title='ran'</script>", served.BodyText);
            Assert.Equal("sandbox", served.Single("Content-Security-Policy"));
            Assert.Equal("nosniff", served.Single("X-Content-Type-Options"));
            Assert.Equal("text/html", served.Single("Content-Type"));
            Assert.Equal("\"v1\"", served.Single("ETag"));
            Assert.Equal("/next", served.Single("Location"));
            Assert.Equal("hello", served.Single("X-Greeting"));
            Assert.Empty(served.Values("Set-Cookie"));
            Assert.Empty(served.Values("Refresh"));
            Assert.Empty(served.Values("Access-Control-Allow-Origin"));
        }

        Assert.Equal(200, stream.Status);
        Assert.Equal("sandbox", stream.Single("Content-Security-Policy"));
        Assert.Equal("nosniff", stream.Single("X-Content-Type-Options"));
        Assert.Equal("text/plain; charset=utf-8", stream.Single("Content-Type"));
    }
}
