using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Queue;

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

            AssertProblem(response, text, status, unit, id, what);
        }
    }

    [Fact]
    public async Task AdmissionRefusalsAndRemovedUnits_AnswerProblemJsonWithRetryAfter()
    {
        await using var world = await TestWorld.Create().WithUnit("drop", "command: cat\n").StartAsync();
        await using var lowDisk = await TestWorld.Create("min_free_disk: 1000000000000000000\n").WithUnit("echo", "command: cat\n").StartAsync();
        await using var smallDisk = TestWorld.Create("min_free_disk: 0\n").WithUnit("job", "command: cat\nmax_request: 0\n");
        var done = await world.PostAsync("drop", "x");
        await world.WaitCompleteAsync("drop", done);
        File.Delete(Path.Combine(world.ConfigDirectory, "drop.yaml"));
        await HotReload.HotReloadTests.EventuallyAsync(
            () => Task.FromResult(world.Services.GetRequiredService<NanoRunEngine>().Units.Find("drop") is null), "the unit was never removed");
        Directory.CreateDirectory(smallDisk.DataDirectory);
        Faults.StorageFaultTests.Mount(smallDisk.DataDirectory);
        try
        {
            await smallDisk.StartAsync();
            (TestWorld World, HttpMethod Method, string Path, int Size, int Status, string Unit, string? Id)[] cases =
            [
                (world, HttpMethod.Post, "api/drop/", 1, 410, "drop", null),
                (world, HttpMethod.Put, "api/drop/", 1, 410, "drop", null),
                (world, HttpMethod.Post, $"api/drop/{done}", 0, 410, "drop", done),
                (lowDisk, HttpMethod.Post, "api/echo/", 1, 503, "echo", null),
                (lowDisk, HttpMethod.Put, "api/echo/", 1, 503, "echo", null),
                (smallDisk, HttpMethod.Post, "api/job/", 16 * 1024 * 1024, 507, "job", null),
            ];

            foreach (var (target, method, path, size, status, unit, id) in cases)
            {
                using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(new byte[size]) };
                using var response = await target.Client.SendAsync(request);
                var text = await response.Content.ReadAsStringAsync();
                var what = $"{method} {path} → {(int)response.StatusCode} {response.Content.Headers.ContentType}: {text}";

                AssertProblem(response, text, status, unit, id, what);
                Assert.True(status == 410 || response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), what);
            }
        }
        finally
        {
            await smallDisk.StopAsync();
            Faults.StorageFaultTests.Unmount(smallDisk.DataDirectory);
        }
    }

    private static void AssertProblem(HttpResponseMessage response, string text, int status, string? unit, string? id, string what)
    {
        Assert.True(status == (int)response.StatusCode, what);
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
