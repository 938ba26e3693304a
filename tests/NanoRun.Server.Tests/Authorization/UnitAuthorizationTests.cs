using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Storage;

namespace NanoRun.Server.Tests.Authorization;

public sealed class UnitAuthorizationTests
{
    private const string Secret = "s3cret";

    /// <summary>Hashes written by <c>htpasswd -nbB -C 5</c>; 2a/2b/2y differ only in their prefix for passwords under 255 bytes.</summary>
    private const string AliceHash2y = "$2y$05$fHHbZPPr32sYXmQrEAxouO7LVK1kU084camx9ezFVMbPzBGoWA0oq";
    private const string BobHash2a = "$2a$05$xij7.otZ364mI2IazV9Kc.jw2RmWcWR/keGqFya6xZgbJhhVMTHmu";
    private const string CarolHash2b = "$2b$05$S8nY/FQIn23TK5hk6Nvg8uZDweeIh5k11LVy.WhHPKZXbRhoFF3Em";

    private static readonly string JwtUnit = $"command: cat\nauthorization:\n  jwt: {{enable: true, secret: {Secret}}}\n";

    private static readonly string BasicUnit =
        $"command: cat\nauthorization:\n  basic:\n    enable: true\n    users:\n      alice: '{AliceHash2y}'\n      bob: '{BobHash2a}'\n      carol: '{CarolHash2b}'\n";

    [Theory]
    [InlineData("Bearer ")]
    [InlineData("bearer ")]
    [InlineData("")]
    public async Task Jwt_ValidHs256Token_IsAccepted(string prefix)
    {
        await using var world = await TestWorld.Create().WithUnit("jwt", JwtUnit).StartAsync();

        using var response = await SendAsync(world, HttpMethod.Post, "api/jwt/", "payload", ("Authorization", prefix + TestJwt.Hs256(Secret, TestJwt.Payload(expiresIn: TimeSpan.FromMinutes(5)))));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
    }

    [Fact]
    public async Task Jwt_LongSecretAndCustomHeader_IsAccepted()
    {
        const string longSecret = "a-secret-that-is-longer-than-thirty-two-bytes-for-sure";
        await using var world = await TestWorld.Create()
            .WithUnit("jwt", $"command: cat\nauthorization:\n  jwt: {{enable: true, header: X-Jwt, secret: {longSecret}}}\n")
            .StartAsync();

        using var accepted = await SendAsync(world, HttpMethod.Post, "api/jwt/", "x", ("X-Jwt", TestJwt.Hs256(longSecret, TestJwt.Payload())));
        using var wrongHeader = await SendAsync(world, HttpMethod.Post, "api/jwt/", "x", ("Authorization", "Bearer " + TestJwt.Hs256(longSecret, TestJwt.Payload())));

        Assert.Equal(HttpStatusCode.SeeOther, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongHeader.StatusCode);
    }

    [Fact]
    public async Task Jwt_WithoutExp_IsRefusedUnlessTheUnitAllowsIt()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("jwt", JwtUnit)
            .WithUnit("forever", $"command: cat\nauthorization:\n  jwt: {{enable: true, secret: {Secret}, require_exp: false}}\n")
            .StartAsync();
        var token = "Bearer " + TestJwt.Hs256(Secret, TestJwt.PayloadWithoutExp());

        using var strict = await SendAsync(world, HttpMethod.Post, "api/jwt/", "x", ("Authorization", token));
        using var relaxed = await SendAsync(world, HttpMethod.Post, "api/forever/", "x", ("Authorization", token));
        using var withExp = await SendAsync(world, HttpMethod.Post, "api/jwt/", "x", ("Authorization", "Bearer " + TestJwt.Hs256(Secret, TestJwt.Payload())));

        // A token without exp is a wrong credential, answered like an expired one.
        Assert.Equal(HttpStatusCode.Forbidden, strict.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, relaxed.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, withExp.StatusCode);
        Assert.Single(await StoredIdsAsync(world, "jwt"));
    }

    [Fact]
    public async Task Jwt_ExpiredWithinClockSkew_IsAccepted()
    {
        await using var world = await TestWorld.Create().WithUnit("jwt", JwtUnit).StartAsync();

        using var response = await SendAsync(world, HttpMethod.Post, "api/jwt/", "x", ("Authorization", "Bearer " + TestJwt.Hs256(Secret, TestJwt.Payload(expiresIn: TimeSpan.FromSeconds(-5)))));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
    }

    [Fact]
    public async Task Jwt_NoToken_Answers401WithBearerChallenge()
    {
        await using var world = await TestWorld.Create().WithUnit("jwt", JwtUnit).StartAsync();

        using var none = await SendAsync(world, HttpMethod.Post, "api/jwt/", "x");
        using var emptyBearer = await SendAsync(world, HttpMethod.Post, "api/jwt/", "x", ("Authorization", "Bearer "));

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer realm=\"jwt\"", none.Headers.WwwAuthenticate.Single().ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, emptyBearer.StatusCode);
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("not-yet-valid")]
    [InlineData("alg-none")]
    [InlineData("hs512")]
    [InlineData("rs256")]
    [InlineData("tampered")]
    [InlineData("wrong-secret")]
    [InlineData("garbage")]
    [InlineData("two-parts")]
    public async Task Jwt_BadToken_Answers403AndStoresNothing(string kind)
    {
        var payload = TestJwt.Payload(expiresIn: TimeSpan.FromMinutes(5));
        var token = kind switch
        {
            "expired" => TestJwt.Hs256(Secret, TestJwt.Payload(expiresIn: TimeSpan.FromHours(-1))),
            "not-yet-valid" => TestJwt.Hs256(Secret, TestJwt.Payload(expiresIn: TimeSpan.FromHours(2), validIn: TimeSpan.FromHours(1))),
            "alg-none" => TestJwt.Unsigned(payload),
            "hs512" => TestJwt.Hs512(Secret, payload),
            "rs256" => TestJwt.Rs256(payload),
            "tampered" => TestJwt.Tampered(Secret, """{"sub":"guest"}""", """{"sub":"admin"}"""),
            "wrong-secret" => TestJwt.Hs256("not-the-secret", payload),
            "garbage" => "not.a.token",
            _ => "eyJhbGciOiJIUzI1NiJ9.e30",
        };
        await using var world = await TestWorld.Create().WithUnit("jwt", JwtUnit).StartAsync();

        using var response = await SendAsync(world, HttpMethod.Post, "api/jwt/", "x", ("Authorization", "Bearer " + token));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
        Assert.Empty(await StoredIdsAsync(world, "jwt"));
    }

    [Fact]
    public async Task QueryToken_RightMissingWrong_Answers303And401And403()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("q", "command: cat\nauthorization:\n  query_token: {enable: true, tokens: [first-token, second-token]}\n")
            .WithUnit("named", "command: cat\nauthorization:\n  query_token: {enable: true, param: key, tokens: [k1]}\n")
            .StartAsync();

        using var first = await SendAsync(world, HttpMethod.Post, "api/q/?token=first-token", "x");
        using var second = await SendAsync(world, HttpMethod.Post, "api/q/?a=1&token=second-token", "x");
        using var missing = await SendAsync(world, HttpMethod.Post, "api/q/", "x");
        using var wrong = await SendAsync(world, HttpMethod.Post, "api/q/?token=first-toke", "x");
        using var longer = await SendAsync(world, HttpMethod.Post, "api/q/?token=first-token-and-more", "x");
        using var asHeader = await SendAsync(world, HttpMethod.Post, "api/q/", "x", ("token", "first-token"));
        using var named = await SendAsync(world, HttpMethod.Post, "api/named/?key=k1", "x");
        using var namedDefault = await SendAsync(world, HttpMethod.Post, "api/named/?token=k1", "x");

        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, second.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Empty(missing.Headers.WwwAuthenticate);
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, longer.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, asHeader.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, named.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, namedDefault.StatusCode);
        Assert.Equal(2, (await StoredIdsAsync(world, "q")).Count);
    }

    [Fact]
    public async Task HeaderToken_ReadFromHeaderNotQuery_Answers303And401And403()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("h", "command: cat\nauthorization:\n  header_token: {enable: true, tokens: [tok-1]}\n")
            .WithUnit("named", "command: cat\nauthorization:\n  header_token: {enable: true, header: X-Key, tokens: [tok-2]}\n")
            .StartAsync();

        using var accepted = await SendAsync(world, HttpMethod.Post, "api/h/", "x", ("X-Api-Token", "tok-1"));
        using var missing = await SendAsync(world, HttpMethod.Post, "api/h/", "x");
        using var inQuery = await SendAsync(world, HttpMethod.Post, "api/h/?X-Api-Token=tok-1", "x");
        using var wrong = await SendAsync(world, HttpMethod.Post, "api/h/", "x", ("X-Api-Token", "tok-2"));
        using var named = await SendAsync(world, HttpMethod.Post, "api/named/", "x", ("X-Key", "tok-2"));

        Assert.Equal(HttpStatusCode.SeeOther, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, inQuery.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, named.StatusCode);
    }

    [Theory]
    [InlineData("alice", "wonder land")]
    [InlineData("bob", "b0b:pw")]
    [InlineData("carol", "carol-pw")]
    public async Task Basic_HtpasswdHashOfEachPrefix_IsAccepted(string login, string password)
    {
        await using var world = await TestWorld.Create().WithUnit("b", BasicUnit).StartAsync();

        using var response = await SendAsync(world, HttpMethod.Post, "api/b/", "x", ("Authorization", BasicCredential(login, password)));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("alice:wrong")]
    [InlineData("mallory:wonder land")]
    [InlineData("alice")]
    [InlineData("!!not-base64!!")]
    public async Task Basic_MissingOrWrong_Answers401WithBasicChallenge(string? credential)
    {
        await using var world = await TestWorld.Create().WithUnit("b", BasicUnit).StartAsync();
        var header = credential switch
        {
            null => [],
            "!!not-base64!!" => new[] { ("Authorization", "Basic " + credential) },
            _ => [("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credential)))],
        };

        using var response = await SendAsync(world, HttpMethod.Post, "api/b/", "x", header);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic realm=\"b\", charset=\"UTF-8\"", response.Headers.WwwAuthenticate.Single().ToString());
        Assert.Empty(await StoredIdsAsync(world, "b"));
    }

    [Fact]
    public async Task TwoMethods_EitherCredential_IsAccepted()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("two", $"command: cat\nauthorization:\n  jwt: {{enable: true, secret: {Secret}}}\n  basic:\n    enable: true\n    users: {{alice: '{AliceHash2y}'}}\n")
            .StartAsync();

        using var byJwt = await SendAsync(world, HttpMethod.Post, "api/two/", "x", ("Authorization", "Bearer " + TestJwt.Hs256(Secret, TestJwt.Payload())));
        using var byBasic = await SendAsync(world, HttpMethod.Post, "api/two/", "x", ("Authorization", BasicCredential("alice", "wonder land")));
        using var byNeither = await SendAsync(world, HttpMethod.Post, "api/two/", "x", ("Authorization", "Bearer " + TestJwt.Hs256("other", TestJwt.Payload())));
        using var byNothing = await SendAsync(world, HttpMethod.Post, "api/two/", "x");

        Assert.Equal(HttpStatusCode.SeeOther, byJwt.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, byBasic.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, byNeither.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, byNothing.StatusCode);
        Assert.Equal(
            ["Basic realm=\"two\", charset=\"UTF-8\"", "Bearer realm=\"two\""],
            byNothing.Headers.WwwAuthenticate.Select(h => h.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal(2, (await StoredIdsAsync(world, "two")).Count);
    }

    [Fact]
    public async Task EveryRoute_WithoutCredentials_IsRefusedAndChangesNothing()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("guarded", "command: cat\nattempts: 1\nauthorization:\n  header_token: {enable: true, tokens: [let-me-in]}\n")
            .StartAsync();
        var id = await world.PostAsync("guarded", "kept", ("X-Api-Token", "let-me-in"));
        using var wait = await SendAsync(world, HttpMethod.Put, "api/guarded/?wait=30s", "sync", ("X-Api-Token", "let-me-in"));
        var done = await world.Services.GetRequiredService<NanoRunEngine>().WaitForFinalAsync(id, TimeSpan.FromSeconds(30), CancellationToken.None);
        var attemptId = done!.Attempts[0].Id;
        var routes = new (HttpMethod Method, string Path)[]
        {
            (HttpMethod.Post, "api/guarded/"),
            (HttpMethod.Put, "api/guarded/?wait=1s"),
            (HttpMethod.Get, $"api/guarded/{id}"),
            (HttpMethod.Get, $"api/guarded/{id}/completed"),
            (HttpMethod.Get, $"api/guarded/{id}/attempt/{attemptId}"),
            (HttpMethod.Get, $"api/guarded/{id}/request"),
            (HttpMethod.Post, $"api/guarded/{id}"),
            (HttpMethod.Delete, $"api/guarded/{id}"),
            (HttpMethod.Get, "api/guarded/not-an-id"),
        };

        var answers = new List<(string Route, HttpStatusCode Status, string Body)>();
        foreach (var (method, path) in routes)
        {
            using var response = await SendAsync(world, method, path, method == HttpMethod.Get || method == HttpMethod.Delete ? null : "sneaky");
            answers.Add((method + " " + path, response.StatusCode, await response.Content.ReadAsStringAsync()));
        }

        Assert.Equal(HttpStatusCode.SeeOther, wait.StatusCode);
        Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.Unauthorized, $"{a.Route} answered {a.Status}"));
        Assert.All(answers, a => Assert.DoesNotContain("kept", a.Body, StringComparison.Ordinal));
        Assert.Equal(2, (await StoredIdsAsync(world, "guarded")).Count);
        Assert.Equal(RequestState.Succeeded, (await StoredRecordAsync(world, id)).State);
    }

    [Fact]
    public async Task RefusedUpload_LeavesNoTraceInDataFolderOrStore()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("q", "command: cat\nmax_request: 0\nauthorization:\n  query_token: {enable: true, tokens: [right]}\n")
            .StartAsync();
        var before = DataFiles(world);
        var body = new string('z', 256 * 1024);

        using var refused = await SendAsync(world, HttpMethod.Post, "api/q/?token=wrong", body);
        using var refusedSync = await SendAsync(world, HttpMethod.Put, "api/q/?wait=1s", body);
        var after = DataFiles(world);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedSync.StatusCode);
        Assert.Equal(before, after);
        Assert.Empty(await StoredIdsAsync(world, "q"));
    }

    [Fact]
    public async Task PrivateUnit_EveryRouteAnswers404EvenWithCredentials_ButRunsWhenQueuedInside()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("hidden", "command: cat\nprivate: true\nauthorization:\n  header_token: {enable: true, tokens: [t]}\n")
            .StartAsync();
        var engine = world.Services.GetRequiredService<NanoRunEngine>();
        var unit = engine.Units.Find("hidden")!;
        using var body = new MemoryStream(Encoding.UTF8.GetBytes("from-inside"));
        var id = (await world.Services.GetRequiredService<NanoRun.Admission.RequestAdmission>().EnqueueAsync(unit, new IncomingRequest("POST", "/cron", [], body), CancellationToken.None)).Id!;
        var final = await engine.WaitForFinalAsync(id, TimeSpan.FromSeconds(30), CancellationToken.None);

        var statuses = new List<HttpStatusCode>();
        foreach (var (method, path) in new[] { (HttpMethod.Post, "api/hidden/"), (HttpMethod.Put, "api/hidden/"), (HttpMethod.Get, $"api/hidden/{id}"), (HttpMethod.Delete, $"api/hidden/{id}") })
        {
            using var response = await SendAsync(world, method, path, null, ("X-Api-Token", "t"));
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(RequestState.Succeeded, final?.State);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.NotFound, s));
    }

    private static async Task<HttpResponseMessage> SendAsync(TestWorld world, HttpMethod method, string path, string? body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body);
        }

        foreach (var (name, value) in headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value));
        }

        return await world.Client.SendAsync(request);
    }

    private static string BasicCredential(string login, string password) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(login + ":" + password));

    private static async Task<List<string>> StoredIdsAsync(TestWorld world, string unit)
    {
        var store = world.Services.GetRequiredService<IRequestStore>();
        var ids = new List<string>();
        await foreach (var summary in store.PageAsync(new PageParams(unit, 100)))
        {
            ids.Add(summary.Id);
        }

        return ids;
    }

    private static async Task<RequestRecord> StoredRecordAsync(TestWorld world, string id) =>
        await world.Services.GetRequiredService<IRequestStore>().GetAsync(id) ?? throw new InvalidOperationException("no record " + id);

    /// <summary>The names of every file under the data folder (bodies above the inline size are files of their own).</summary>
    private static List<string> DataFiles(TestWorld world) =>
        [.. Directory.EnumerateFiles(world.DataDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
}
