using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using NanoRun.Core.Tests;

namespace NanoRun.Server.Tests.OpenApi;

public sealed class OpenApiTests
{
    /// <summary>Set to 1 to write the served document to <c>docs/openapi.json</c> instead of comparing.</summary>
    private const string UpdateVariable = "NANO_RUN_UPDATE_OPENAPI";

    [Fact]
    public async Task OpenApi_ServedDocument_MatchesCheckedInCopy()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var checkedIn = RepositoryFolder.Path("docs", "openapi.json");

        using var response = await world.Client.GetAsync("api/openapi.json");
        var served = Normalize(await response.Content.ReadAsStringAsync());
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            await File.WriteAllTextAsync(checkedIn, served);
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(File.Exists(checkedIn), $"{checkedIn} is missing; run `{UpdateVariable}=1 dotnet test --filter OpenApi` to write it");
        Assert.Equal(Normalize(await File.ReadAllTextAsync(checkedIn)), served);
    }

    [Fact]
    public async Task OpenApi_ServedDocument_DescribesEveryApiRoute()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        using var response = await world.Client.GetAsync("api/openapi.json");
        var paths = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["paths"]!.AsObject();

        Assert.Equal(["get", "post", "put"], Methods(paths, "/api/{unit}"));
        Assert.Equal(["post"], Methods(paths, "/api/{unit}/failed/retry"));
        Assert.Equal(["delete", "get", "post"], Methods(paths, "/api/{unit}/{id}"));
        Assert.Equal(["get"], Methods(paths, "/api/{unit}/{id}/completed"));
        Assert.Equal(["get"], Methods(paths, "/api/{unit}/{id}/attempt/{attemptId}"));
        Assert.Equal(["get"], Methods(paths, "/api/{unit}/{id}/attempt/{attemptId}/stream"));
        Assert.Equal(["get"], Methods(paths, "/api/{unit}/{id}/request"));
        Assert.Equal("Enqueue", paths["/api/{unit}"]!["post"]!["operationId"]!.GetValue<string>());
    }

    private static string[] Methods(JsonObject paths, string path) =>
        [.. paths[path]!.AsObject().Select(p => p.Key).Where(k => k is "get" or "post" or "put" or "delete").Order(StringComparer.Ordinal)];

    /// <summary>Indented, LF line endings and a final newline, so the checked-in file diffs well.</summary>
    private static string Normalize(string json) =>
        JsonNode.Parse(json)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }).ReplaceLineEndings("\n") + "\n";
}
