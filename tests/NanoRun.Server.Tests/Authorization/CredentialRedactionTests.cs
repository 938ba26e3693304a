using System.Net;

namespace NanoRun.Server.Tests.Authorization;

/// <summary>Credentials one caller sent are never shown to another caller of the same unit, and the query token is never stored.</summary>
public sealed class CredentialRedactionTests
{
    private const string Unit = """
        command: cat
        authorization:
          query_token:
            enable: true
            tokens: [tok-query-A1, tok-query-B2]
          header_token:
            enable: true
            tokens: [tok-header-A3]
        """;

    private static readonly string[] Secrets = ["tok-query-A1", "tok-header-A3", "secret-bearer", "secret-cookie"];

    [Fact]
    public async Task RecordAndRequest_ReadByAnotherCaller_ShowNoCredentialOfTheFirst()
    {
        await using var world = await TestWorld.Create().WithUnit("guarded", Unit.ReplaceLineEndings("\n") + "\n").StartAsync();
        var posted = await RawHttp.SendAsync(world, """
            POST /api/guarded/?Token=tok-query-A1&keep=1 HTTP/1.1
            X-Api-Token: tok-header-A3
            Authorization: Bearer secret-bearer
            Cookie: session=secret-cookie
            X-Trace: t-1
            """, "payload"u8.ToArray());
        Assert.Equal(303, posted.Status);
        var id = posted.Single("X-Correlation-Id");
        await WaitCompleteAsync(world, id);

        using var recordAnswer = await world.Client.GetAsync($"api/guarded/{id}?token=tok-query-B2");
        var record = await recordAnswer.Content.ReadAsStringAsync();
        var saved = await RawHttp.GetAsync(world, $"/api/guarded/{id}/request?token=tok-query-B2");
        using var json = System.Text.Json.JsonDocument.Parse(record);
        var headers = json.RootElement.GetProperty("headers");

        Assert.Equal(HttpStatusCode.OK, recordAnswer.StatusCode);
        Assert.Equal(200, saved.Status);
        Assert.Equal("/api/guarded/?keep=1", json.RootElement.GetProperty("uri").GetString());
        Assert.Equal("(hidden)", headers.GetProperty("Authorization")[0].GetString());
        Assert.Equal("(hidden)", headers.GetProperty("Cookie")[0].GetString());
        Assert.Equal("(hidden)", headers.GetProperty("X-Api-Token")[0].GetString());
        Assert.Equal("t-1", headers.GetProperty("X-Trace")[0].GetString());
        Assert.Equal("/api/guarded/?keep=1", saved.Single("X-Request-Uri"));
        Assert.Equal("(hidden)", saved.Single("X-Api-Token"));
        Assert.Empty(saved.Values("Authorization"));
        Assert.Empty(saved.Values("Cookie"));
        foreach (var secret in Secrets)
        {
            Assert.DoesNotContain(secret, record, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, saved.ToString(), StringComparison.Ordinal);
        }
    }

    private static async Task WaitCompleteAsync(TestWorld world, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var response = await world.Client.GetAsync($"api/guarded/{id}?token=tok-query-B2");
            if (response.Headers.TryGetValues("X-Status", out var status) && status.Single() == "complete")
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"request {id} did not complete in time");
            await Task.Delay(50);
        }
    }
}
