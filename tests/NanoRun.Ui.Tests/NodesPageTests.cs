using System.Net;

namespace NanoRun.Ui.Tests;

/// <summary>The node list, as a page and as <c>GET /api/nodes</c>, is authorized like the rest of the UI.</summary>
public sealed class NodesPageTests
{
    [Fact]
    public async Task Nodes_UiWithLogin_RefusedUntilSignedInThenListed()
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        await using var world = await UiWorld.Create(provider.ServerYaml("alice") + "node_name: solo\n").WithUnit("echo", "command: cat\n").StartAsync();

        using var anonymousApi = await world.Client.GetAsync("api/nodes");
        using var anonymousPage = await world.Client.GetAsync("ui/nodes");
        var session = await SignInAsync(world);
        using var api = await GetWithCookieAsync(world, "api/nodes", session);
        using var page = await GetWithCookieAsync(world, "ui/nodes", session);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymousApi.StatusCode);
        Assert.Equal("application/problem+json", anonymousApi.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Redirect, anonymousPage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Contains("\"name\":\"solo\"", await api.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("solo (this node)", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>Signs in through the fake provider and returns the session cookie.</summary>
    private static async Task<string> SignInAsync(UiWorld world)
    {
        using var start = await world.Client.GetAsync("ui/auth/start?return=%2Fui%2F");
        var loginCookie = start.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };
        using var approval = await browser.GetAsync(start.Headers.Location);
        using var callback = new HttpRequestMessage(HttpMethod.Get, approval.Headers.Location);
        callback.Headers.Add("Cookie", loginCookie);
        using var answer = await world.Client.SendAsync(callback);
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        return string.Join("; ", answer.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
    }

    private static async Task<HttpResponseMessage> GetWithCookieAsync(UiWorld world, string path, string cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", cookie);
        return await world.Client.SendAsync(request);
    }
}
