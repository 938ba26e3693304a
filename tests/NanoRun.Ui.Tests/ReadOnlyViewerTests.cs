using System.Net;
using System.Text.RegularExpressions;

namespace NanoRun.Ui.Tests;

/// <summary>Read-only viewers over real HTTP: signed in through the fake provider, they see every page and change nothing.</summary>
public sealed partial class ReadOnlyViewerTests
{
    [Fact]
    public async Task Viewer_Pages_PostNoFormsButSignOut()
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        provider.Login = "vera";
        await using var world = await UiWorld.Create(provider.ServerYaml("alice") + "  viewers: [vera]\n")
            .WithUnit("echo", "command: cat\n")
            .WithUnit("report", "command: cat\ncron:\n  - spec: '@yearly'\n    name: annual\n")
            .StartAsync();
        var id = await world.PostAsync("echo", "hello");
        await world.WaitCompleteAsync("echo", id);
        var session = await SignInAsync(world, provider);

        var pages = new List<string>();
        foreach (var path in new[] { "ui/", "ui/units/echo", "ui/units/echo?state=failed", $"ui/units/echo/requests/{id}", "ui/schedules" })
        {
            var (status, html, _) = await GetAsync(world, path, session);
            Assert.Equal(HttpStatusCode.OK, status);
            pages.Add(html);
        }

        foreach (var html in pages)
        {
            Assert.Equal(["/ui/auth/logout"], FormActions().Matches(html).Select(m => m.Groups[1].Value));
            Assert.Contains("read-only</span>", html, StringComparison.Ordinal);
            Assert.DoesNotContain("type=\"checkbox\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("signed in read-only", pages[1], StringComparison.Ordinal);
        Assert.Contains("hello", pages[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Viewer_HandMadePostsWithValidToken_AreRefusedAndChangeNothing()
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        provider.Login = "vera";
        await using var world = await UiWorld.Create(provider.ServerYaml("alice") + "  viewers: [vera]\n")
            .WithUnit("echo", "command: cat\n")
            .WithUnit("slow", "command: 'sleep 120'\n")
            .WithUnit("fails", "command: 'exit 3'\nattempts: 1\n")
            .StartAsync();
        var done = await world.PostAsync("echo", "hello");
        await world.WaitCompleteAsync("echo", done);
        var running = await world.PostAsync("slow", "wait");
        var failed = await world.PostAsync("fails", "x");
        await world.WaitCompleteAsync("fails", failed);
        var session = await SignInAsync(world, provider);
        var (_, page, antiforgery) = await GetAsync(world, "ui/units/echo", session);
        var token = TokenField().Match(page).Groups[1].Value;
        var cookies = session + "; " + antiforgery;

        var statuses = new List<HttpStatusCode>();
        foreach (var path in new[] { "ui/units/echo", $"ui/units/echo/requests/{done}/retry", $"ui/units/slow/requests/{running}/cancel", "ui/units/fails/failed/retry", "ui/units/slow/pause" })
        {
            using var answer = await PostAsync(world, path, token, cookies);
            statuses.Add(answer.StatusCode);
            Assert.Contains("Read-only", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var logout = await PostAsync(world, "ui/auth/logout", token, cookies);
        var echo = await world.Client.GetStringAsync("api/echo/");
        var slow = await world.Client.GetStringAsync($"api/slow/{running}");
        var fails = await world.Client.GetStringAsync("api/fails/");
        var slowUnit = await world.Client.GetStringAsync("api/slow/");

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.Forbidden, status));
        Assert.Equal(HttpStatusCode.SeeOther, logout.StatusCode);
        Assert.Single(Ids().Matches(echo));
        Assert.DoesNotContain("\"cancelled\"", slow, StringComparison.Ordinal);
        Assert.Single(Ids().Matches(fails));
        Assert.Contains("\"paused\":false", slowUnit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FullUser_SameHandMadePost_IsQueued()
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        provider.Login = "alice";
        await using var world = await UiWorld.Create(provider.ServerYaml("alice") + "  viewers: [vera]\n").WithUnit("echo", "command: cat\n").StartAsync();
        var session = await SignInAsync(world, provider);
        var (_, page, antiforgery) = await GetAsync(world, "ui/units/echo", session);
        var token = TokenField().Match(page).Groups[1].Value;

        using var answer = await PostAsync(world, "ui/units/echo", token, session + "; " + antiforgery);

        Assert.Equal(HttpStatusCode.SeeOther, answer.StatusCode);
        Assert.DoesNotContain("read-only", page, StringComparison.Ordinal);
        Assert.Contains("form method=\"post\" action=\"/ui/units/echo\"", page, StringComparison.Ordinal);
    }

    /// <summary>Signs in through the fake provider as its current login; returns the session cookie.</summary>
    private static async Task<string> SignInAsync(UiWorld world, FakeOAuthProvider provider)
    {
        using var start = await world.Client.GetAsync("ui/auth/start?return=%2Fui%2F");
        var state = start.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };
        using var approval = await browser.GetAsync(start.Headers.Location);
        using var callback = new HttpRequestMessage(HttpMethod.Get, approval.Headers.Location);
        callback.Headers.Add("Cookie", state);
        using var answer = await world.Client.SendAsync(callback);
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        return answer.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]).Single(c => c.StartsWith("nano-run-session=", StringComparison.Ordinal));
    }

    private static async Task<(HttpStatusCode Status, string Html, string Antiforgery)> GetAsync(UiWorld world, string path, string session)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", session);
        using var response = await world.Client.SendAsync(request);
        var antiforgery = response.Headers.TryGetValues("Set-Cookie", out var set)
            ? set.Select(c => c.Split(';')[0]).FirstOrDefault(c => c.StartsWith(".AspNetCore.Antiforgery", StringComparison.Ordinal)) ?? string.Empty
            : string.Empty;
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), antiforgery);
    }

    private static async Task<HttpResponseMessage> PostAsync(UiWorld world, string path, string token, string cookies)
    {
        var form = new MultipartFormDataContent { { new StringContent("payload text"), "payload" }, { new StringContent(token), "__RequestVerificationToken" } };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = form };
        request.Headers.Add("Cookie", cookies);
        request.Headers.Add("Origin", world.BaseAddress.GetLeftPart(UriPartial.Authority));
        return await world.Client.SendAsync(request);
    }

    [GeneratedRegex("<form(?=[^>]* method=\"post\")[^>]* action=\"([^\"]+)\"")]
    private static partial Regex FormActions();

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex("\"id\":\"[0-9a-f]{32}\"")]
    private static partial Regex Ids();
}
