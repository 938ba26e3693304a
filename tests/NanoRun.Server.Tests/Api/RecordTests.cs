using System.Net;
using System.Text;

namespace NanoRun.Server.Tests.Api;

public sealed class RecordTests
{
    [Fact]
    public async Task GetRecord_Complete_CarriesCompatibleHeadersAndFields()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var id = await world.PostAsync("echo", "abc", ("X-Custom", "one"));
        var json = await world.WaitCompleteAsync("echo", id);

        using var response = await world.Client.GetAsync($"api/echo/{id}");

        var attemptId = json.GetProperty("attempts")[0].GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(id, response.Headers.GetValues("X-Correlation-Id").Single());
        Assert.Equal("complete", response.Headers.GetValues("X-Status").Single());
        Assert.Equal("1", Header(response, "Content-Version"));
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.NotNull(response.Headers.Age);
        Assert.Equal(attemptId, response.Headers.GetValues("X-Last-Attempt").Single());
        Assert.True(response.Headers.Contains("X-Last-Attempt-At"));
        Assert.Equal($"/api/echo/{id}/attempt/{attemptId}", response.Headers.Location!.OriginalString);
        Assert.True(json.GetProperty("complete").GetBoolean());
        Assert.True(IsTime(json, "created_at"));
        Assert.True(IsTime(json, "complete_at"));
        Assert.Equal("one", json.GetProperty("headers").GetProperty("X-Custom")[0].GetString());
        var attempt = json.GetProperty("attempts")[0];
        Assert.True(attempt.TryGetProperty("started_at", out _));
        Assert.True(attempt.TryGetProperty("created_at", out _));
        Assert.True(attempt.TryGetProperty("headers", out _));
    }

    [Fact]
    public async Task GetRecord_Processing_SaysProcessingAndNoLocation()
    {
        await using var world = await TestWorld.Create().WithUnit("slow", "command: sleep 5\n").StartAsync();
        var id = await world.PostAsync("slow", "x");

        using var response = await world.Client.GetAsync($"api/slow/{id}");
        var json = await world.GetRecordAsync("slow", id);

        Assert.Equal("processing", response.Headers.GetValues("X-Status").Single());
        Assert.Null(response.Headers.Location);
        Assert.False(json.GetProperty("complete").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.GetProperty("complete_at").ValueKind);
        using var cancel = await world.Client.DeleteAsync($"api/slow/{id}");
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("not-an-id")]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    public async Task Get_UnknownOrMalformedId_Answers404OnEveryRoute(string id)
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        var statuses = new List<HttpStatusCode>();
        foreach (var path in new[] { $"api/echo/{id}", $"api/echo/{id}/completed", $"api/echo/{id}/request", $"api/echo/{id}/attempt/{id}" })
        {
            using var response = await world.Client.GetAsync(path);
            statuses.Add(response.StatusCode);
        }

        using var retry = await world.Client.PostAsync($"api/echo/{id}", new StringContent(""));
        using var delete = await world.Client.DeleteAsync($"api/echo/{id}");
        statuses.Add(retry.StatusCode);
        statuses.Add(delete.StatusCode);

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.NotFound, s));
    }

    [Fact]
    public async Task Get_RecordOfAnotherUnit_Answers404()
    {
        await using var world = await TestWorld.Create().WithUnit("a", "command: cat\n").WithUnit("b", "command: cat\n").StartAsync();
        var id = await world.PostAsync("a", "x");

        using var response = await world.Client.GetAsync($"api/b/{id}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task GetRequest_ReturnsSavedBodyAndOriginalHeaders()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        using var post = new HttpRequestMessage(HttpMethod.Post, "api/echo/?q=1") { Content = new StringContent("saved ✓", Encoding.UTF8, "text/plain") };
        post.Headers.Add("X-Trace", "t-1");
        using var posted = await world.Client.SendAsync(post);
        var id = posted.Headers.GetValues("X-Correlation-Id").Single();

        using var response = await world.Client.GetAsync($"api/echo/{id}/request");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("saved ✓", await response.Content.ReadAsStringAsync());
        Assert.Equal("t-1", response.Headers.GetValues("X-Trace").Single());
        Assert.Equal("POST", response.Headers.GetValues("X-Method").Single());
        Assert.Equal("/api/echo/?q=1", response.Headers.GetValues("X-Request-Uri").Single());
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.NotNull(response.Content.Headers.LastModified);
    }

    [Fact]
    public async Task PostId_Retry_CreatesNewRequestWithSameContent()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var id = await world.PostAsync("echo", "again", ("X-Trace", "t-2"));
        await world.WaitCompleteAsync("echo", id);

        using var retry = await world.Client.PostAsync($"api/echo/{id}", new StringContent("ignored"));
        var newId = retry.Headers.GetValues("X-Correlation-Id").Single();
        var record = await world.WaitCompleteAsync("echo", newId);
        var output = await world.GetResultAsync("echo", newId, record.GetProperty("attempts")[0].GetProperty("id").GetString()!);

        Assert.Equal(HttpStatusCode.SeeOther, retry.StatusCode);
        Assert.Equal($"/api/echo/{newId}", retry.Headers.Location!.OriginalString);
        Assert.NotEqual(id, newId);
        Assert.Equal("again", output);
        Assert.Equal("t-2", record.GetProperty("headers").GetProperty("X-Trace")[0].GetString());
    }

    [Fact]
    public async Task Results_OfDifferentRequests_NeverOverwriteEachOther()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\nworkers: 4\n").StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await world.PostAsync("echo", "body-" + i));
        }

        for (var i = 0; i < ids.Count; i++)
        {
            var record = await world.WaitCompleteAsync("echo", ids[i]);
            Assert.Equal("body-" + i, await world.GetResultAsync("echo", ids[i], record.GetProperty("attempts")[0].GetProperty("id").GetString()!));
        }
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.Single()
            : throw new Xunit.Sdk.XunitException($"header {name} missing; got {response}");

    private static bool IsTime(System.Text.Json.JsonElement json, string name) =>
        json.GetProperty(name).ValueKind == System.Text.Json.JsonValueKind.String
        && DateTimeOffset.TryParse(json.GetProperty(name).GetString(), System.Globalization.CultureInfo.InvariantCulture, out _);

}
