using System.Net;
using System.Text.Json;
using NanoRun.Server.Tests.Process;
using NanoRun.Storage.PostgreSql;
using Npgsql;

namespace NanoRun.Server.Tests.SharedMode;

/// <summary>Every node registers itself with a heartbeat; <c>GET /api/nodes</c> and the UI's Nodes page list them.</summary>
public sealed class NodeListTests
{
    [Fact]
    public async Task Nodes_TwoOnPostgreSqlOneKilled_ListedThenShownGoneAndItsRequestRunsElsewhere()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var alphaWorld = TestWorld.Create("node_name: alpha\n").WithPostgreSql(database.ConnectionString, lease: "3s").WithUnit("job", "command: cat\n");
        await using var betaWorld = TestWorld.Create("node_name: beta\n").WithPostgreSql(database.ConnectionString, lease: "3s")
            .WithUnit("job", "command: 'sleep 60'\n").WithUnit("other", "command: cat\n");
        using var beta = ServerProcess.Start(betaWorld.Root, "server", "run", "-c", betaWorld.ServerYaml);
        using var betaClient = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await beta.WaitListeningAsync() };
        using var posted = await betaClient.PostAsync("api/job/", new StringContent("payload"));
        var id = posted.Headers.GetValues("X-Correlation-Id").Single();
        var alpha = await alphaWorld.StartAsync();

        var alive = await WaitNodesAsync(alpha, nodes => Node(nodes, "beta") is { } b && b.GetProperty("running_attempts").GetInt32() == 1 && Node(nodes, "alpha") is not null);
        var applications = await ApplicationNamesAsync(database.ConnectionString);
        beta.KillHard();
        await beta.WaitExitAsync(TimeSpan.FromSeconds(10));
        var afterKill = await WaitNodesAsync(alpha, nodes => Node(nodes, "beta")?.GetProperty("gone").GetBoolean() == true);
        var record = await alpha.WaitCompleteAsync("job", id, TimeSpan.FromSeconds(60));
        var page = await alpha.Client.GetStringAsync("ui/nodes");

        var betaAlive = Node(alive, "beta")!.Value;
        var alphaAlive = Node(alive, "alpha")!.Value;
        Assert.False(betaAlive.GetProperty("gone").GetBoolean());
        Assert.False(betaAlive.GetProperty("self").GetBoolean());
        Assert.Equal(["job", "other"], betaAlive.GetProperty("units").EnumerateArray().Select(u => u.GetString()));
        Assert.False(string.IsNullOrEmpty(betaAlive.GetProperty("version").GetString()));
        Assert.True(betaAlive.GetProperty("heartbeat_at").GetDateTimeOffset() >= betaAlive.GetProperty("started_at").GetDateTimeOffset());
        Assert.True(alphaAlive.GetProperty("self").GetBoolean());
        Assert.Equal(["job"], alphaAlive.GetProperty("units").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal(3, alive.GetProperty("lease_seconds").GetInt64());
        Assert.Contains("alpha", applications);
        Assert.Contains("beta", applications);
        Assert.False(Node(afterKill, "alpha")!.Value.GetProperty("gone").GetBoolean());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.Contains("beta", page, StringComparison.Ordinal);
        Assert.Contains(">gone<", page, StringComparison.Ordinal);
        Assert.Contains("alpha (this node)", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_EmbeddedStoreWithoutNodeName_ListsItselfAsHostAndPort()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        var document = await WaitNodesAsync(world, nodes => nodes.GetProperty("nodes").GetArrayLength() == 1
            && nodes.GetProperty("nodes")[0].GetProperty("name").GetString()!.EndsWith(":" + world.BaseAddress.Port, StringComparison.Ordinal));

        var node = document.GetProperty("nodes")[0];
        Assert.Equal(System.Net.Dns.GetHostName() + ":" + world.BaseAddress.Port, node.GetProperty("name").GetString());
        Assert.True(node.GetProperty("self").GetBoolean());
        Assert.Equal(0, node.GetProperty("running_attempts").GetInt32());
    }

    [Fact]
    public async Task Nodes_UiDisabled_AnswersNotFoundAsProblem()
    {
        await using var world = await TestWorld.Create("disable_ui: true\n").WithUnit("echo", "command: cat\n").StartAsync();

        using var response = await world.Client.GetAsync("api/nodes");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>The application names of the database's connections: each node's own name unless its connection string sets one.</summary>
    private static async Task<List<string>> ApplicationNamesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Application Name=observer");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static JsonElement? Node(JsonElement document, string name)
    {
        foreach (var node in document.GetProperty("nodes").EnumerateArray())
        {
            if (node.GetProperty("name").GetString() == name)
            {
                return node;
            }
        }

        return null;
    }

    private static async Task<JsonElement> WaitNodesAsync(TestWorld world, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var response = await world.Client.GetAsync("api/nodes");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (done(document.RootElement))
            {
                return document.RootElement.Clone();
            }

            Assert.True(DateTime.UtcNow < deadline, $"the node list never got there: {document.RootElement}");
            await Task.Delay(100);
        }
    }
}
