using System.Net;
using System.Security.Cryptography;
using NanoRun.Server.Tests.Process;
using NanoRun.Storage.PostgreSql;

namespace NanoRun.Server.Tests.SharedMode;

/// <summary>Several server nodes on one PostgreSQL database.</summary>
public sealed class MultiNodeTests
{
    [Fact]
    public async Task TwoNodes_ManyRequests_EachProcessedExactlyOnceByEitherNode()
    {
        await using var database = await TestDatabase.CreateAsync();
        var log = Path.Combine(Path.GetTempPath(), "nano-run-log-" + Guid.NewGuid().ToString("N"));
        await using var nodeA = await TestWorld.Create().WithPostgreSql(database.ConnectionString)
            .WithUnit("job", $"command: 'sleep 0.1; cat >> {log}; printf A'\nworkers: 1\n").StartAsync();
        await using var nodeB = await TestWorld.Create().WithPostgreSql(database.ConnectionString)
            .WithUnit("job", $"command: 'sleep 0.1; cat >> {log}; printf B'\nworkers: 1\n").StartAsync();
        var ids = new List<string>();

        for (var i = 0; i < 24; i++)
        {
            ids.Add(await (i % 2 == 0 ? nodeA : nodeB).PostAsync("job", $"request-{i}\n"));
        }

        var ranOn = new List<string>();
        foreach (var id in ids)
        {
            var record = await nodeA.WaitCompleteAsync("job", id, TimeSpan.FromSeconds(120));
            var attempt = Assert.Single(record.GetProperty("attempts").EnumerateArray());
            Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
            ranOn.Add(await nodeB.GetResultAsync("job", id, attempt.GetProperty("id").GetString()!));
        }

        var lines = await File.ReadAllLinesAsync(log);
        File.Delete(log);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => $"request-{i}").Order(), lines.Order());
        Assert.Contains("A", ranOn);
        Assert.Contains("B", ranOn);
    }

    [Fact]
    public async Task KillHard_NodeMidAttempt_OtherNodeRunsRequestAfterLeaseExpires()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var doomedWorld = TestWorld.Create().WithPostgreSql(database.ConnectionString, lease: "2s").WithUnit("job", "command: 'sleep 20'\n");
        using var doomed = ServerProcess.Start(doomedWorld.Root, "server", "run", "-c", doomedWorld.ServerYaml);
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await doomed.WaitListeningAsync() };
        using var response = await client.PostAsync("api/job/", new StringContent("payload"));
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        await using var survivor = await TestWorld.Create().WithPostgreSql(database.ConnectionString, lease: "2s").WithUnit("job", "command: cat\n").StartAsync();
        await survivor.Client.WaitOutcomeAsync("job", id, "running", TimeSpan.FromSeconds(60));

        // The running node renews its lease, so the survivor leaves the request alone for longer than one lease.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var whileAlive = await survivor.GetRecordAsync("job", id);
        doomed.KillHard();
        await doomed.WaitExitAsync(TimeSpan.FromSeconds(10));
        var record = await survivor.WaitCompleteAsync("job", id, TimeSpan.FromSeconds(60));

        Assert.Equal("running", whileAlive.GetProperty("outcome").GetString());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        var attempt = Assert.Single(record.GetProperty("attempts").EnumerateArray());
        Assert.Equal("payload", await survivor.GetResultAsync("job", id, attempt.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Post_LargeBody_StreamsThroughDatabaseBothWays()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var node = await TestWorld.Create().WithPostgreSql(database.ConnectionString).WithUnit("echo", "command: cat\nmax_request: 16777216\n").StartAsync();
        var body = RandomNumberGenerator.GetBytes((5 * 1024 * 1024) + 123);

        using var response = await node.Client.PostAsync("api/echo/", new ByteArrayContent(body));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        var record = await node.WaitCompleteAsync("echo", id, TimeSpan.FromSeconds(120));
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();
        var result = await node.Client.GetByteArrayAsync($"api/echo/{id}/attempt/{attemptId}");
        var saved = await node.Client.GetByteArrayAsync($"api/echo/{id}/request");

        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.Equal(body, result);
        Assert.Equal(body, saved);
        Assert.False(Directory.Exists(Path.Combine(node.DataDirectory, "blobs")));
    }
}
