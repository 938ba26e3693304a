using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace NanoRun.Ui.Tests;

/// <summary>The UI's answers over plain HTTP: routes, assets, downloads, previews and the form guards.</summary>
public sealed partial class UiHttpTests
{
    [Fact]
    public async Task DisableUi_True_MapsNoUiRoutes()
    {
        await using var world = await UiWorld.Create("disable_ui: true\n").WithUnit("echo", "command: cat\n").StartAsync();

        using var units = await world.Client.GetAsync("ui/");
        using var asset = await world.Client.GetAsync("ui/static/site.css");
        using var root = await world.Client.GetAsync("");
        using var api = await world.Client.GetAsync("api/echo/00000000000000000000000000000000");

        Assert.Equal(HttpStatusCode.NotFound, units.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, asset.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, root.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
    }

    [Fact]
    public async Task StaticAssets_FileInUiDirectory_OverridesBuiltInAndNothingElseIsReachable()
    {
        await using var world = await UiWorld.Create().WithStaticFile("site.css", "body { color: hotpink; }").StartAsync();

        var css = await world.Client.GetStringAsync("ui/static/site.css");
        using var js = await world.Client.GetAsync("ui/static/site.js");
        using var traversal = await world.Client.GetAsync("ui/static/..%2F..%2Fserver.yaml");
        using var missing = await world.Client.GetAsync("ui/static/nope.css");

        Assert.Equal("body { color: hotpink; }", css);
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
        Assert.Equal("text/javascript", js.Content.Headers.ContentType?.MediaType);
        Assert.Contains("data-refresh", await js.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task SubmitForm_TokenAndOriginChecks_RefuseForeignOriginAndMissingToken()
    {
        await using var world = await UiWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var (token, cookie) = await FormTokenAsync(world, "ui/units/echo");

        using var foreign = await PostFormAsync(world, "ui/units/echo", token, cookie, origin: "http://evil.example");
        using var noToken = await PostFormAsync(world, "ui/units/echo", token: null, cookie, origin: null);
        using var crossSite = await PostFormAsync(world, "ui/units/echo", token, cookie, origin: null, fetchSite: "cross-site");
        using var sameSite = await PostFormAsync(world, "ui/units/echo", token, cookie, origin: world.BaseAddress.GetLeftPart(UriPartial.Authority));

        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, sameSite.StatusCode);
        Assert.Matches("^/ui/units/echo/requests/[0-9a-f]{32}$", sameSite.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task SubmitFormAndRetry_UnitAtMaxQueue_ShowNotQueuedAndStoreNothing()
    {
        await using var world = await UiWorld.Create().WithUnit("busy", "command: sleep 30\nworkers: 1\nmax_queue: 1\n").StartAsync();
        var running = await world.PostAsync("busy", "a");
        await world.Client.WaitOutcomeAsync("busy", running, "running", TimeSpan.FromSeconds(20));

        await Task.Delay(300);
        var waiting = await world.PostAsync("busy", "b");
        var (token, cookie) = await FormTokenAsync(world, "ui/units/busy");

        using var submit = await PostFormAsync(world, "ui/units/busy", token, cookie, origin: null);
        using var retry = await PostFormAsync(world, $"ui/units/busy/requests/{running}/retry", token, cookie, origin: null);
        var submitPage = await submit.Content.ReadAsStringAsync();
        var listed = ListedIds(await world.Client.GetStringAsync("ui/units/busy")).Count;
        using var c1 = await world.Client.DeleteAsync($"api/busy/{running}");
        using var c2 = await world.Client.DeleteAsync($"api/busy/{waiting}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, submit.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, retry.StatusCode);
        Assert.NotNull(submit.Headers.RetryAfter);
        Assert.Contains("Not queued", submitPage, StringComparison.Ordinal);
        Assert.Contains("max_queue", submitPage, StringComparison.Ordinal);
        Assert.Contains("Not queued", await retry.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, listed);
    }

    [Fact]
    public async Task UnitPages_OutcomeFilterAndCounts_ListOnlyThatOutcome()
    {
        await using var world = await UiWorld.Create().WithUnit("check", "command: 'read x; [ \"$x\" = ok ]'\nattempts: 1\n").StartAsync();
        var ids = new List<(string Id, bool Ok)>();
        foreach (var ok in new[] { true, false, true, false, false })
        {
            ids.Add((await world.PostAsync("check", ok ? "ok\n" : "bad\n"), ok));
        }

        foreach (var (id, _) in ids)
        {
            await world.WaitCompleteAsync("check", id);
        }

        var failed = await world.Client.GetStringAsync("ui/units/check?state=failed");
        var succeeded = await world.Client.GetStringAsync("ui/units/check?state=succeeded");
        var units = await world.Client.GetStringAsync("ui/");

        Assert.Equal(ids.Where(i => !i.Ok).Select(i => i.Id).Reverse(), ListedIds(failed));
        Assert.Equal(ids.Where(i => i.Ok).Select(i => i.Id).Reverse(), ListedIds(succeeded));
        Assert.Contains("<b>3</b> failed", failed, StringComparison.Ordinal);
        Assert.Contains("data-label=\"Failed\"><a class=\"count\" href=\"/ui/units/check?state=failed\">3</a></td>", units, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnitPage_ReplayFailedButton_ReplaysOnceWithTokenAndRefusesWithout()
    {
        await using var world = UiWorld.Create();
        var fixedFile = Path.Combine(world.Root, "fixed");
        await world.WithUnit("check", $"command: 'test -f {fixedFile}'\nattempts: 1\n").StartAsync();
        var ids = new[] { await world.PostAsync("check", "a"), await world.PostAsync("check", "b") };
        foreach (var id in ids)
        {
            await world.WaitCompleteAsync("check", id);
        }

        var failedPage = await world.Client.GetStringAsync("ui/units/check?state=failed");
        var allPage = await world.Client.GetStringAsync("ui/units/check");
        var (token, cookie) = await FormTokenAsync(world, "ui/units/check?state=failed");
        await File.WriteAllTextAsync(fixedFile, "works now");
        using var noToken = await PostFormAsync(world, "ui/units/check/failed/retry", token: null, cookie, origin: null);
        using var replay = await PostFormAsync(world, "ui/units/check/failed/retry", token, cookie, origin: null);
        using var again = await PostFormAsync(world, "ui/units/check/failed/retry", token, cookie, origin: null);
        var after = await world.Client.GetStringAsync("ui/units/check");

        Assert.Contains("action=\"/ui/units/check/failed/retry\"", failedPage, StringComparison.Ordinal);
        Assert.DoesNotContain("failed/retry", allPage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Contains("Queued 2 new requests", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("Queued 0 new requests", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(4, ListedIds(after).Count);
    }

    [Fact]
    public async Task AttemptPage_LargeResult_ShowsBoundedPreviewAndDownloadsWhole()
    {
        await using var world = await UiWorld.Create().WithUnit("big", "command: head -c 300000 /dev/zero | tr '\\0' a\n").StartAsync();
        var id = await world.PostAsync("big", "");
        var attemptId = (await world.WaitCompleteAsync("big", id)).GetProperty("attempts")[0].GetProperty("id").GetString();

        var page = await world.Client.GetStringAsync($"ui/units/big/requests/{id}/attempts/{attemptId}");
        using var download = await world.Client.GetAsync($"ui/units/big/requests/{id}/attempts/{attemptId}/result");
        var bytes = await download.Content.ReadAsByteArrayAsync();

        Assert.Contains(new string('a', 64 * 1024), page, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('a', (64 * 1024) + 1), page, StringComparison.Ordinal);
        Assert.Contains("Showing the first 64 KiB of 293 KiB", page, StringComparison.Ordinal);
        Assert.Equal(300_000, bytes.Length);
        Assert.All(bytes, b => Assert.Equal((byte)'a', b));
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
    }

    [Fact]
    public async Task RequestPage_BinaryPayload_OfferedOnlyAsDownload()
    {
        await using var world = await UiWorld.Create().WithUnit("sink", "command: wc -c\n").StartAsync();
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        using var content = new ByteArrayContent(binary);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var post = await world.Client.PostAsync("api/sink/", content);
        var id = post.Headers.GetValues("X-Correlation-Id").Single();

        var page = await world.Client.GetStringAsync($"ui/units/sink/requests/{id}");
        using var download = await world.Client.GetAsync($"ui/units/sink/requests/{id}/payload");

        Assert.Contains("Binary content", page, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"payload\"", page, StringComparison.Ordinal);
        Assert.Equal(binary, await download.Content.ReadAsByteArrayAsync());
        Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task RequestPage_Credentials_AreHiddenAndReservedPairsLeftOut()
    {
        await using var world = await UiWorld.Create()
            .WithUnit("locked", "command: cat\nauthorization:\n  header_token: {enable: true, tokens: [header-secret-1]}\n  query_token: {enable: true, tokens: [query-secret-2]}\n")
            .StartAsync();
        using var post = new HttpRequestMessage(HttpMethod.Post, "api/locked/?token=query-secret-2&keep=visible") { Content = new StringContent("x") };
        post.Headers.Add("X-Api-Token", "header-secret-1");
        post.Headers.TryAddWithoutValidation("Authorization", "Bearer bearer-secret-3");
        using var posted = await world.Client.SendAsync(post);
        var id = posted.Headers.GetValues("X-Correlation-Id").Single();

        var page = await world.Client.GetStringAsync($"ui/units/locked/requests/{id}");

        Assert.DoesNotContain("header-secret-1", page, StringComparison.Ordinal);
        Assert.DoesNotContain("query-secret-2", page, StringComparison.Ordinal);
        Assert.DoesNotContain("bearer-secret-3", page, StringComparison.Ordinal);
        Assert.DoesNotContain(":remote-addr", page, StringComparison.Ordinal);
        Assert.Contains("keep=visible", page, StringComparison.Ordinal);
        Assert.Contains("(hidden)", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SchedulesPage_Entry_ShowsNextTickAndLastRequest()
    {
        await using var world = await UiWorld.Create().WithUnit("ticker", "command: cat\ncron:\n  - {spec: '@every 1s', name: beat, content: hi}\n  - {spec: '0 0 1 1 *', name: yearly}\n").StartAsync();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        string page;
        while (!(page = await world.Client.GetStringAsync("ui/schedules")).Contains("/ui/units/ticker/requests/", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "no scheduled request was linked: " + page);
            await Task.Delay(100);
        }

        var unitPage = await world.Client.GetStringAsync("ui/units/ticker");

        Assert.Contains("beat", page, StringComparison.Ordinal);
        Assert.Contains("-01-01T00:00:00", page, StringComparison.Ordinal);
        Assert.Contains("none since start", page, StringComparison.Ordinal);
        Assert.Contains("next <time", unitPage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnitPage_ListsTheHeadersThatReachTheCommand()
    {
        await using var world = await UiWorld.Create()
            .WithUnit("bin", "command: cat\nenvironment_headers: [If-Match, Authorization]\n")
            .WithUnit("script", "mode: cgi\ncommand: cat\n")
            .WithUnit("plain", "command: cat\n")
            .StartAsync();

        var bin = await world.Client.GetStringAsync("ui/units/bin");
        var script = await world.Client.GetStringAsync("ui/units/script");
        var plain = await world.Client.GetStringAsync("ui/units/plain");

        var passing = PassingHeaders(bin);
        Assert.Equal(["X-… (as X_…)", "Content-Type", "Content-Length", "Accept", "User-Agent", "If-Match", "Authorization"], passing);
        Assert.Equal(["X-… (as X_…)", "Content-Type", "Content-Length", "Accept", "User-Agent"], PassingHeaders(plain));
        Assert.Equal(["every header as HTTP_…, except Proxy"], PassingHeaders(script));
    }

    private static List<string> PassingHeaders(string page)
    {
        var list = Regex.Match(page, "<ul class=\"plain passing-headers\">(.*?)</ul>", RegexOptions.Singleline);
        Assert.True(list.Success, "the unit page has no list of passing headers");
        return [.. Regex.Matches(list.Groups[1].Value, "<li><code>(.*?)</code></li>").Select(m => WebUtility.HtmlDecode(m.Groups[1].Value))];
    }

    [Fact]
    public async Task OverviewSearch_HeaderValueInTwoUnits_ListsEachUnitsNewestMatchesEncoded()
    {
        const string Hostile = "<script>alert(1)</script>";
        await using var world = await UiWorld.Create().WithUnit("alpha", "command: cat\n").WithUnit("beta", "command: cat\n").WithUnit("gamma", "command: cat\n").StartAsync();
        var alpha = new List<string>();
        for (var i = 0; i < 21; i++)
        {
            alpha.Add(await world.PostAsync("alpha", "a" + i, ("X-Tag", Hostile)));
        }

        var beta = await world.PostAsync("beta", "b", ("X-Tag", Hostile));
        await world.PostAsync("gamma", "g", ("X-Tag", "harmless"));

        using var found = await world.Client.GetAsync("ui/search?q=" + Uri.EscapeDataString(Hostile));
        var page = await found.Content.ReadAsStringAsync();
        var groups = SearchSection().Matches(page).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        using var nothing = await world.Client.GetAsync("ui/search?q=no-such-value");
        var nothingPage = await nothing.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal(["alpha", "beta"], groups.Keys.ToList());
        Assert.Equal(Enumerable.Reverse(alpha).Take(20), ListedIds(groups["alpha"]));
        Assert.Equal([beta], ListedIds(groups["beta"]));
        Assert.Contains("<a class=\"more\" href=\"/ui/units/alpha?q=%3Cscript%3Ealert%281%29%3C%2Fscript%3E\"", groups["alpha"], StringComparison.Ordinal);
        Assert.DoesNotContain("class=\"more\"", groups["beta"], StringComparison.Ordinal);
        Assert.DoesNotContain(Hostile, page, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, nothing.StatusCode);
        Assert.Contains("id=\"no-match\"", nothingPage, StringComparison.Ordinal);
        Assert.DoesNotContain("search-unit", nothingPage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pages_UnknownUnitRequestOrPrivateSubmit_AnswerNotFound()
    {
        await using var world = await UiWorld.Create().WithUnit("cronly", "command: cat\nprivate: true\n").WithUnit("open", "command: cat\n").StartAsync();
        var (token, cookie) = await FormTokenAsync(world, "ui/units/open");

        using var unknownUnit = await world.Client.GetAsync("ui/units/nope");
        using var unknownRequest = await world.Client.GetAsync("ui/units/cronly/requests/00000000000000000000000000000000");
        using var badId = await world.Client.GetAsync("ui/units/cronly/requests/..%2F..%2Fserver.yaml");
        using var privateSubmit = await PostFormAsync(world, "ui/units/cronly", token, cookie, origin: null);
        var privatePage = await world.Client.GetStringAsync("ui/units/cronly");

        Assert.Equal(HttpStatusCode.NotFound, unknownUnit.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownRequest.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, badId.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, privateSubmit.StatusCode);
        Assert.Contains("only runs from its schedules", privatePage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_CallbackWithoutStartedLogin_IsRefusedAndPagesRedirectToLogin()
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        await using var world = await UiWorld.Create(provider.ServerYaml()).StartAsync();

        using var page = await world.Client.GetAsync("ui/schedules");
        using var callback = await world.Client.GetAsync("ui/auth/callback?code=abc&state=forged");
        using var start = await world.Client.GetAsync("ui/auth/start?return=https%3A%2F%2Fevil.example%2F");
        using var asset = await world.Client.GetAsync("ui/static/site.css");

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/ui/auth/login?return=%2Fui%2Fschedules", page.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        Assert.Equal(0, provider.TokensIssued);
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        Assert.StartsWith(provider.BaseAddress + "authorize?response_type=code&client_id=nano-run-ui&redirect_uri=", start.Headers.Location!.AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
    }

    [Theory]
    [InlineData("%2Fui%2F..%2Fapi%2Fjob%2Fx%2Frequest")]
    [InlineData("%2Fui%2F%252e%252e%2Fapi%2Fjob%2Fx%2Frequest")]
    [InlineData("%2Fui%2F.%2F..%2Fmetrics")]
    public async Task Login_ReturnWithDotSegments_GoesBackToTheUiHome(string escapedReturn)
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        await using var world = await UiWorld.Create(provider.ServerYaml()).StartAsync();

        var page = await world.Client.GetStringAsync("ui/auth/login?return=" + escapedReturn);
        var kept = await world.Client.GetStringAsync("ui/auth/login?return=%2Fui%2Fschedules");

        Assert.Contains("auth/start?return=%2Fui%2F\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("api", page, StringComparison.Ordinal);
        Assert.Contains("auth/start?return=%2Fui%2Fschedules\"", kept, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, HttpStatusCode.Redirect)]
    [InlineData(70 * 1024, HttpStatusCode.BadGateway)]
    public async Task Login_OverHttp_SendsPkceChallengeAndCapsTheProfileAnswer(int profilePadding, HttpStatusCode expected)
    {
        await using var provider = await FakeOAuthProvider.StartAsync();
        provider.ProfilePadding = profilePadding;
        await using var world = await UiWorld.Create(provider.ServerYaml()).StartAsync();

        using var start = await world.Client.GetAsync("ui/auth/start?return=%2Fui%2F");
        var cookie = start.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };
        using var approval = await browser.GetAsync(start.Headers.Location);
        using var callback = new HttpRequestMessage(HttpMethod.Get, approval.Headers.Location);
        callback.Headers.Add("Cookie", cookie);
        using var answer = await world.Client.SendAsync(callback);

        // The provider refuses a token request whose code_verifier does not hash to the challenge it was sent.
        Assert.Contains("&code_challenge_method=S256", start.Headers.Location!.Query, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, approval.StatusCode);
        Assert.Equal(1, provider.TokensIssued);
        Assert.Equal(expected, answer.StatusCode);
    }

    private static async Task<(string Token, string Cookie)> FormTokenAsync(UiWorld world, string page)
    {
        using var response = await world.Client.GetAsync(page);
        var html = await response.Content.ReadAsStringAsync();
        var token = TokenField().Match(html).Groups[1].Value;
        var cookie = response.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]).Single(c => c.StartsWith(".AspNetCore.Antiforgery", StringComparison.Ordinal));
        Assert.NotEmpty(token);
        return (token, cookie);
    }

    private static async Task<HttpResponseMessage> PostFormAsync(UiWorld world, string path, string? token, string cookie, string? origin, string? fetchSite = null)
    {
        var form = new MultipartFormDataContent { { new StringContent("payload text"), "payload" } };
        if (token is not null)
        {
            form.Add(new StringContent(token), "__RequestVerificationToken");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = form };
        request.Headers.Add("Cookie", cookie);
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }

        return await world.Client.SendAsync(request);
    }

    private static List<string> ListedIds(string html) => RequestLink().Matches(html).Select(m => m.Groups[1].Value).ToList();

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex("<a class=\"id\" href=\"[^\"]*/requests/([0-9a-f]{32})\"")]
    private static partial Regex RequestLink();

    [GeneratedRegex("<section class=\"card search-unit\" data-unit=\"([^\"]+)\">(.*?)</section>", RegexOptions.Singleline)]
    private static partial Regex SearchSection();
}
