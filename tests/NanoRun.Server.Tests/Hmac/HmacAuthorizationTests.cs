using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Storage;

namespace NanoRun.Server.Tests.Hmac;

public sealed class HmacAuthorizationTests
{
    private const string Secret = "webhook-secret";

    private const string GitHubUnit = "command: cat\nmax_request: 0\nauthorization:\n  hmac: {enable: true, header: X-Hub-Signature-256, algorithm: sha256, prefix: 'sha256=', secret: " + Secret + "}\n";

    [Fact]
    public async Task Hmac_GitHubSignedPayload_IsQueuedAndRuns()
    {
        await using var world = await TestWorld.Create().WithUnit("gh", GitHubUnit).StartAsync();
        const string payload = """{"ref":"refs/heads/main","after":"abc"}""";

        using var response = await SendAsync(world, "api/gh/", payload, ("X-Hub-Signature-256", "sha256=" + Hex(HMACSHA256.HashData(Key, Bytes(payload)))));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        // Reads carry no body: their signature is that of the empty body.
        world.Client.DefaultRequestHeaders.Add("X-Hub-Signature-256", "sha256=" + Hex(HMACSHA256.HashData(Key, Array.Empty<byte>())));
        var record = await world.WaitCompleteAsync("gh", id);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(payload, await world.GetResultAsync("gh", id, record.GetProperty("attempts")[0].GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Hmac_TamperedPayload_Answers403AndQueuesNothing()
    {
        await using var world = await TestWorld.Create().WithUnit("gh", GitHubUnit).StartAsync();
        var signed = new string('a', 20_000);
        var tampered = signed[..^1] + "b";

        using var response = await SendAsync(world, "api/gh/", tampered, ("X-Hub-Signature-256", "sha256=" + Hex(HMACSHA256.HashData(Key, Bytes(signed)))));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await StoredIdsAsync(world, "gh"));
        Assert.DoesNotContain(BodyFiles(world), name => name.Contains("body", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hmac_MissingOrMalformedSignature_Answers401Or403AndQueuesNothing()
    {
        await using var world = await TestWorld.Create().WithUnit("gh", GitHubUnit).StartAsync();

        using var missing = await SendAsync(world, "api/gh/", "x");
        using var noPrefix = await SendAsync(world, "api/gh/", "x", ("X-Hub-Signature-256", Hex(HMACSHA256.HashData(Key, Bytes("x")))));
        using var sha1Length = await SendAsync(world, "api/gh/", "x", ("X-Hub-Signature-256", "sha256=" + Hex(new byte[20])));

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, noPrefix.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, sha1Length.StatusCode);
        Assert.Empty(await StoredIdsAsync(world, "gh"));
    }

    [Theory]
    [InlineData("sha1", "")]
    [InlineData("sha512", "")]
    [InlineData("sha256", "")]
    public async Task Hmac_GiteaStyleHexHeader_IsAcceptedPerAlgorithm(string algorithm, string prefix)
    {
        await using var world = await TestWorld.Create()
            .WithUnit("gitea", $"command: cat\nauthorization:\n  hmac: {{enable: true, header: X-Gitea-Signature, algorithm: {algorithm}, prefix: '{prefix}', secret: {Secret}}}\n")
            .StartAsync();
        const string payload = "{\"action\":\"push\"}";
        var signature = algorithm switch
        {
#pragma warning disable CA5350 // senders such as GitHub's legacy header still sign with SHA-1
            "sha1" => HMACSHA1.HashData(Key, Bytes(payload)),
#pragma warning restore CA5350
            "sha512" => HMACSHA512.HashData(Key, Bytes(payload)),
            _ => HMACSHA256.HashData(Key, Bytes(payload)),
        };

        using var accepted = await SendAsync(world, "api/gitea/", payload, ("X-Gitea-Signature", Hex(signature)));
        using var wrongKey = await SendAsync(world, "api/gitea/", payload, ("X-Gitea-Signature", Hex(HMACSHA256.HashData(Bytes("other"), Bytes(payload)))));

        Assert.Equal(HttpStatusCode.SeeOther, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, wrongKey.StatusCode);
        Assert.Single(await StoredIdsAsync(world, "gitea"));
    }

    [Fact]
    public async Task Hmac_TimestampedStripeStyle_AcceptsFreshAndRefusesStale()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("stripe", $"command: cat\nauthorization:\n  hmac: {{enable: true, header: Stripe-Signature, format: timestamped, secret: {Secret}}}\n")
            .StartAsync();
        const string payload = "{\"type\":\"charge.succeeded\"}";
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var stale = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

        using var fresh = await SendAsync(world, "api/stripe/", payload, ("Stripe-Signature", $"t={now},v1={Hex(HMACSHA256.HashData(Key, Bytes(now + "." + payload)))}"));
        using var old = await SendAsync(world, "api/stripe/", payload, ("Stripe-Signature", $"t={stale},v1={Hex(HMACSHA256.HashData(Key, Bytes(stale + "." + payload)))}"));
        using var bodyOnly = await SendAsync(world, "api/stripe/", payload, ("Stripe-Signature", $"t={now},v1={Hex(HMACSHA256.HashData(Key, Bytes(payload)))}"));

        Assert.Equal(HttpStatusCode.SeeOther, fresh.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, old.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, bodyOnly.StatusCode);
        Assert.Single(await StoredIdsAsync(world, "stripe"));
    }

    [Fact]
    public async Task Hmac_TimestampedWithTolerance_RefusesOlderAndAcceptsWithin()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("hook", $"command: cat\nauthorization:\n  hmac: {{enable: true, header: X-Sig, format: timestamped, tolerance: 1m, secret: {Secret}}}\n")
            .StartAsync();
        const string payload = "deploy main";
        string Signed(TimeSpan age)
        {
            var t = DateTimeOffset.UtcNow.Subtract(age).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            return $"t={t},v1={Hex(HMACSHA256.HashData(Key, Bytes(t + "." + payload)))}";
        }

        using var within = await SendAsync(world, "api/hook/", payload, ("X-Sig", Signed(TimeSpan.FromSeconds(30))));
        using var older = await SendAsync(world, "api/hook/", payload, ("X-Sig", Signed(TimeSpan.FromMinutes(2))));
        using var ahead = await SendAsync(world, "api/hook/", payload, ("X-Sig", Signed(TimeSpan.FromMinutes(-2))));

        Assert.Equal(HttpStatusCode.SeeOther, within.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, older.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, ahead.StatusCode);
        Assert.Single(await StoredIdsAsync(world, "hook"));
    }

    [Fact]
    public async Task Hmac_WithTokenAlsoEnabled_EitherCredentialAdmits()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("both", $"command: cat\nauthorization:\n  header_token: {{enable: true, tokens: [tok]}}\n  hmac: {{enable: true, header: X-Sig, secret: {Secret}}}\n")
            .StartAsync();

        using var byToken = await SendAsync(world, "api/both/", "x", ("X-Api-Token", "tok"));
        using var bySignature = await SendAsync(world, "api/both/", "y", ("X-Sig", Hex(HMACSHA256.HashData(Key, Bytes("y")))));
        using var badSignature = await SendAsync(world, "api/both/", "z", ("X-Sig", Hex(HMACSHA256.HashData(Key, Bytes("y")))));

        Assert.Equal(HttpStatusCode.SeeOther, byToken.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, bySignature.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, badSignature.StatusCode);
        Assert.Equal(2, (await StoredIdsAsync(world, "both")).Count);
    }

    private static byte[] Key => Bytes(Secret);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static async Task<HttpResponseMessage> SendAsync(TestWorld world, string path, string body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body) };
        foreach (var (name, value) in headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value));
        }

        return await world.Client.SendAsync(request);
    }

    private static async Task<List<string>> StoredIdsAsync(TestWorld world, string unit)
    {
        var ids = new List<string>();
        await foreach (var summary in world.Services.GetRequiredService<IRequestStore>().PageAsync(new PageParams(unit, 100)))
        {
            ids.Add(summary.Id);
        }

        return ids;
    }

    private static List<string> BodyFiles(TestWorld world) =>
        [.. Directory.EnumerateFiles(world.DataDirectory, "*", SearchOption.AllDirectories)];
}
