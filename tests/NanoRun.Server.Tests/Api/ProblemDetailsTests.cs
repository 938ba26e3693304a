using System.Net;
using System.Text.Json;

namespace NanoRun.Server.Tests.Api;

/// <summary>Every error the API answers is an RFC 9457 problem document with the route's unit and id, and keeps its status and headers.</summary>
public sealed class ProblemDetailsTests
{
    private const string Missing = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task EveryErrorRoute_AnswersProblemJsonWithMembers()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("echo", "command: cat\nmax_request: 4\n")
            .WithUnit("slow", "command: sleep 30\nattempts: 1\n")
            .WithUnit("q", "command: cat\nauthorization:\n  query_token: {enable: true, tokens: [right]}\n")
            .WithUnit("rated", "command: cat\nrate: 0.01\nburst: 1\n")
            .StartAsync();
        var done = await world.PostAsync("echo", "x");
        await world.WaitCompleteAsync("echo", done);
        var running = await world.PostAsync("slow", "x");
        await world.PostAsync("rated", "x");

        (HttpMethod Method, string Path, string? Body, int Status, string? Unit, string? Id)[] cases =
        [
            (HttpMethod.Get, "api/nope/", null, 404, "nope", null),
            (HttpMethod.Post, "api/nope/", "x", 404, "nope", null),
            (HttpMethod.Get, $"api/echo/{Missing}", null, 404, "echo", Missing),
            (HttpMethod.Get, "api/echo/not-an-id", null, 404, "echo", "not-an-id"),
            (HttpMethod.Delete, $"api/echo/{Missing}", null, 404, "echo", Missing),
            (HttpMethod.Post, $"api/echo/{Missing}", null, 404, "echo", Missing),
            (HttpMethod.Get, $"api/echo/{done}/attempt/{Missing}", null, 404, "echo", done),
            (HttpMethod.Get, $"api/echo/{done}/attempt/{Missing}/stream", null, 404, "echo", done),
            (HttpMethod.Get, $"api/echo/{done}/request?x", null, 200, null, null),
            (HttpMethod.Get, "api/q/", null, 401, "q", null),
            (HttpMethod.Get, "api/q/?token=wrong", null, 403, "q", null),
            (HttpMethod.Post, "api/q/?token=right&token=right", "x", 400, "q", null),
            (HttpMethod.Put, "api/echo/?wait=10000", "x", 400, "echo", null),
            (HttpMethod.Put, "api/echo/?wait=soon", "x", 400, "echo", null),
            (HttpMethod.Get, "api/echo/?state=bogus", null, 400, "echo", null),
            (HttpMethod.Get, "api/echo/?limit=0", null, 400, "echo", null),
            (HttpMethod.Get, "api/echo/?before=x", null, 400, "echo", null),
            (HttpMethod.Post, "api/echo/", "too large", 413, "echo", null),
            (HttpMethod.Delete, $"api/echo/{done}", null, 409, "echo", done),
            (HttpMethod.Get, $"api/slow/{running}/completed", null, 425, "slow", running),
            (HttpMethod.Put, "api/slow/?wait=100ms", "x", 504, "slow", null),
            (HttpMethod.Post, "api/rated/", "x", 429, "rated", null),
        ];

        foreach (var (method, path, body, status, unit, id) in cases)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : new StringContent(body) };
            using var response = await world.Client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var what = $"{method} {path} → {(int)response.StatusCode} {response.Content.Headers.ContentType}: {text}";

            Assert.True(status == (int)response.StatusCode, what);
            if (status < 400)
            {
                continue;
            }

            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", what);
            using var problem = JsonDocument.Parse(text);
            var root = problem.RootElement;
            Assert.True(root.GetProperty("type").GetString() is { Length: > 0 }, what);
            Assert.True(root.GetProperty("title").GetString() is { Length: > 0 }, what);
            Assert.True(root.GetProperty("status").GetInt32() == status, what);
            Assert.True(root.GetProperty("detail").GetString() is { Length: > 0 }, what);
            Assert.True(unit == (root.TryGetProperty("unit", out var u) ? u.GetString() : null), what);
            Assert.True(id == (root.TryGetProperty("id", out var i) ? i.GetString() : null), what);
            switch (status)
            {
                case 429:
                    Assert.True(response.Headers.RetryAfter?.Delta is not null, what);
                    break;
                case 504:
                    Assert.True(response.Headers.Contains("X-Correlation-Id"), what);
                    Assert.True(response.Headers.Location is not null, what);
                    break;
            }
        }
    }

    [Fact]
    public async Task AttemptReplayingAnErrorStatus_IsTheStoredBodyNotAProblem()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("page", "mode: cgi\nattempts: 1\ncommand: \"printf 'Status: 404 Not Found\\\\r\\\\nContent-Type: text/html\\\\r\\\\n\\\\r\\\\nmine'\"\n")
            .StartAsync();
        var id = await world.PostAsync("page", "x");
        var record = await world.WaitCompleteAsync("page", id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();

        using var attempt = await world.Client.GetAsync($"api/page/{id}/attempt/{attemptId}");

        Assert.Equal(HttpStatusCode.NotFound, attempt.StatusCode);
        Assert.Equal("text/html", attempt.Content.Headers.ContentType?.MediaType);
        Assert.Equal("mine", await attempt.Content.ReadAsStringAsync());
    }
}
