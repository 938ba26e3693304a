using System.Net;
using System.Text.Json;

namespace NanoRun.Server.Tests.Console;

/// <summary><c>?delay=</c> and <c>?at=</c> on a new request, on the real clock, and the time a record tells apart (waited, ran).</summary>
public sealed class DelayedRequestTests
{
    [Fact]
    public async Task Post_WithDelay_AcknowledgedNowAndFirstAttemptNotBeforeThen()
    {
        await using var world = await TestWorld.Create().WithUnit("later", "command: \"sleep 0.3; echo done\"\n").StartAsync();
        var sent = DateTimeOffset.UtcNow;

        using var post = await world.Client.PostAsync("api/later/?delay=2s", new StringContent("x"));
        var id = post.Headers.GetValues("X-Correlation-Id").Single();
        using var early = await world.Client.GetAsync($"api/later/{id}");
        var earlyJson = JsonDocument.Parse(await early.Content.ReadAsStringAsync()).RootElement;
        var record = await world.WaitCompleteAsync("later", id);
        using var list = await world.Client.GetAsync("api/later/");
        var summary = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("requests")[0];

        Assert.Equal(HttpStatusCode.SeeOther, post.StatusCode);
        Assert.Equal("processing", early.Headers.GetValues("X-Status").Single());
        Assert.Equal("queued", earlyJson.GetProperty("outcome").GetString());
        Assert.Equal(JsonValueKind.Null, earlyJson.GetProperty("waited_ms").ValueKind);
        var notBefore = record.GetProperty("not_before").GetDateTimeOffset();
        Assert.InRange(notBefore - sent, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(10));
        var started = record.GetProperty("attempts")[0].GetProperty("started_at").GetDateTimeOffset();
        Assert.True(started >= notBefore, $"the attempt started at {started:O}, before {notBefore:O}");
        Assert.InRange(record.GetProperty("waited_ms").GetInt64(), 1900, 10_000);
        Assert.InRange(record.GetProperty("ran_ms").GetInt64(), 250, 1900);
        Assert.Equal(record.GetProperty("waited_ms").GetInt64(), summary.GetProperty("waited_ms").GetInt64());
        Assert.Equal(record.GetProperty("ran_ms").GetInt64(), summary.GetProperty("ran_ms").GetInt64());
    }

    [Fact]
    public async Task Put_WithAt_RecordShowsThatTime()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var at = DateTimeOffset.UtcNow.AddHours(1);
        var text = at.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture);

        using var put = await world.Client.PutAsync($"api/echo/?wait=1s&at={Uri.EscapeDataString(text)}", new StringContent("x"));
        var id = put.Headers.GetValues("X-Correlation-Id").Single();
        var record = await world.GetRecordAsync("echo", id);

        Assert.Equal(HttpStatusCode.GatewayTimeout, put.StatusCode);
        Assert.Equal(at.ToUnixTimeMilliseconds(), record.GetProperty("not_before").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal("queued", record.GetProperty("outcome").GetString());
        Assert.Equal(0, record.GetProperty("attempts").GetArrayLength());
    }

    [Theory]
    [InlineData("delay=60")]
    [InlineData("delay=soon")]
    [InlineData("delay=-5s")]
    [InlineData("delay=9000h")]
    [InlineData("delay=1s&delay=2s")]
    [InlineData("at=tomorrow")]
    [InlineData("at=2026-12-03T18:00:00")]
    [InlineData("at=2999-01-01T00:00:00Z")]
    [InlineData("delay=1s&at=2026-12-03T18:00:00Z")]
    public async Task Post_WithBadDelay_Answers400AndStoresNothing(string query)
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        using var post = await world.Client.PostAsync("api/echo/?" + query, new StringContent("x"));
        var problem = JsonDocument.Parse(await post.Content.ReadAsStringAsync()).RootElement;
        using var list = await world.Client.GetAsync("api/echo/");
        var stored = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("requests").GetArrayLength();

        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Equal("application/problem+json", post.Content.Headers.ContentType!.MediaType);
        Assert.Contains(query.StartsWith("at=", StringComparison.Ordinal) ? "at" : "delay", problem.GetProperty("detail").GetString()!);
        Assert.Equal(0, stored);
    }
}
