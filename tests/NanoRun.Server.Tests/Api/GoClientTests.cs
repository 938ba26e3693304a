using System.Net;

namespace NanoRun.Server.Tests.Api;

/// <summary>
/// A client written for the Go tool: it follows <c>Location</c> by appending it to the server's base URL and carries its
/// credential in the query, so every hop must be an absolute path that keeps the query.
/// </summary>
public sealed class GoClientTests
{
    private const string Unit = "command: cat\nauthorization:\n  query_token: {enable: true, tokens: [T]}\n";

    [Fact]
    public async Task Post_FollowedByConcatenation_ReachesRecordWithQueryToken()
    {
        await using var world = await TestWorld.Create().WithUnit("u", Unit).StartAsync();

        using var post = await SendAsync(world, HttpMethod.Post, "/api/u/?token=T", "go-post");
        using var record = await FollowAsync(world, post);

        Assert.Equal(HttpStatusCode.SeeOther, post.StatusCode);
        Assert.Equal(HttpStatusCode.OK, record.StatusCode);
        Assert.Equal(post.Headers.GetValues("X-Correlation-Id").Single(), record.Headers.GetValues("X-Correlation-Id").Single());
    }

    [Fact]
    public async Task PutLocation_FollowedThroughEveryHop_ServesTheResult()
    {
        await using var world = await TestWorld.Create().WithUnit("u", Unit).StartAsync();

        using var put = await SendAsync(world, HttpMethod.Put, "/api/u/?token=T&wait=20s", "go-put");
        using var completed = await FollowAsync(world, put);
        using var attempt = await FollowAsync(world, completed);

        Assert.Equal(HttpStatusCode.SeeOther, put.StatusCode);
        Assert.Equal(HttpStatusCode.MovedPermanently, completed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, attempt.StatusCode);
        Assert.Equal("go-put", await attempt.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Retry_FollowedByConcatenation_ReachesNewRecord()
    {
        await using var world = await TestWorld.Create().WithUnit("u", Unit).StartAsync();
        using var post = await SendAsync(world, HttpMethod.Post, "/api/u/?token=T", "go-retry");
        var first = post.Headers.GetValues("X-Correlation-Id").Single();

        using var retry = await SendAsync(world, HttpMethod.Post, $"/api/u/{first}?token=T", null);
        using var record = await FollowAsync(world, retry);
        var second = retry.Headers.GetValues("X-Correlation-Id").Single();

        Assert.Equal(HttpStatusCode.SeeOther, retry.StatusCode);
        Assert.Equal($"/api/u/{second}?token=T", retry.Headers.Location!.OriginalString);
        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.OK, record.StatusCode);
        Assert.Equal(second, record.Headers.GetValues("X-Correlation-Id").Single());
    }

    private static async Task<HttpResponseMessage> SendAsync(TestWorld world, HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, Root(world) + path) { Content = body is null ? null : new StringContent(body) };
        return await world.Client.SendAsync(request);
    }

    /// <summary>What the Go tool's clients do: <c>base + Location</c>, as text.</summary>
    private static Task<HttpResponseMessage> FollowAsync(TestWorld world, HttpResponseMessage response)
    {
        var location = response.Headers.Location?.OriginalString;
        Assert.False(string.IsNullOrEmpty(location), $"no Location on {(int)response.StatusCode}");
        return world.Client.GetAsync(Root(world) + location);
    }

    private static string Root(TestWorld world) => world.BaseAddress.GetLeftPart(UriPartial.Authority);
}
