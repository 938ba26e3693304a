using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.Server.Tests.Process;
using NanoRun.Storage.PostgreSql;
using Npgsql;

namespace NanoRun.Server.Tests.SharedMode;

/// <summary>
/// Three server processes on one PostgreSQL cluster of their own, under a steady stream of requests, while the database
/// restarts or stays away: nothing acknowledged is lost, new requests meanwhile get 503 with <c>Retry-After</c>,
/// <c>/readyz</c> follows the database, and every node carries on without a restart.
/// </summary>
public sealed class DatabaseOutageTests
{
    private const int Nodes = 3;

    [Fact]
    public Task Restart_UnderLoad_EveryAcknowledgedRequestCompletesWithOwnResult() =>
        RunAsync(TimeSpan.Zero, static (cluster, _) => cluster.RestartServerAsync());

    [Theory]
    [InlineData(30)]
    public Task Outage_DatabaseStopped_Answers503ThenRecoversWithNothingLost(int seconds) =>
        RunAsync(TimeSpan.FromSeconds(seconds), static async (cluster, length) =>
        {
            await cluster.StopServerAsync();
            await Task.Delay(length);
            await cluster.StartServerAsync();
        });

    [Fact]
    public async Task Enqueue_DatabaseStopped_AdmissionAnswersStoreUnavailableWithRetryAfter()
    {
        await using var cluster = await PostgreSqlCluster.StartPrivateAsync();
        var database = await cluster.CreateDatabaseAsync();
        await using var world = await TestWorld.Create().WithPostgreSql(database.ConnectionString).WithUnit("echo", "command: cat\n").StartAsync();
        var queue = world.Services.GetRequiredService<INanoRunQueue>();
        await cluster.StopServerAsync();

        var started = Stopwatch.StartNew();
        var result = await queue.EnqueueAsync("echo", new MemoryStream("payload"u8.ToArray()));
        var took = started.Elapsed;
        await cluster.StartServerAsync();

        Assert.Null(result.Id);
        Assert.Equal(AdmissionOutcome.StoreUnavailable, result.Admission.Outcome);
        Assert.Equal("store_unavailable", result.Admission.Code);
        Assert.Equal(TimeSpan.FromSeconds(5), result.Admission.RetryAfter);
        Assert.True(took < TimeSpan.FromSeconds(10), $"admission took {took}");
    }

    private static async Task RunAsync(TimeSpan outageLength, Func<PostgreSqlCluster, TimeSpan, Task> outage)
    {
        await using var cluster = await PostgreSqlCluster.StartPrivateAsync();
        var database = await cluster.CreateDatabaseAsync();

        // The lease is shorter than the outage, so every lease runs out while the database is away.
        var longSleep = (int)outageLength.TotalSeconds + 8;
        var worlds = new List<TestWorld>();
        var nodes = new List<ServerProcess>();
        try
        {
            for (var i = 0; i < Nodes; i++)
            {
                var world = TestWorld.Create().WithPostgreSql(database.ConnectionString, lease: "10s")
                    .WithUnit("job", "command: cat\nworkers: 2\n")
                    .WithUnit("long", $"command: 'sleep {longSleep}; cat'\n");
                worlds.Add(world);
                nodes.Add(ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml));
            }

            var addresses = new Uri[Nodes];
            for (var i = 0; i < Nodes; i++)
            {
                addresses[i] = await nodes[i].WaitListeningAsync();
            }

            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
            // One long request runs on each node (one worker each) across the outage: the first node back must not take
            // the others' leases, which ran out while no node could renew them.
            var longIds = new string[Nodes];
            for (var i = 0; i < Nodes; i++)
            {
                longIds[i] = await PostAsync(client, new Uri(addresses[i], "api/long/"), "long-" + i);
            }

            foreach (var longId in longIds)
            {
                await WaitRunningAsync(client, addresses[0], longId);
            }

            var load = new Load(client, addresses);
            var probes = new ReadinessProbes(client, addresses);
            using var stopLoad = new CancellationTokenSource();
            var loading = load.RunAsync(stopLoad.Token);
            var probing = probes.RunAsync(stopLoad.Token);
            await probes.WaitAllReadyAsync(TimeSpan.FromSeconds(30));
            probes.Forget();
            await Task.Delay(TimeSpan.FromSeconds(2));

            await outage(cluster, outageLength);
            var recovered = load.Sent;
            await Task.Delay(TimeSpan.FromSeconds(6));
            await probes.WaitAllReadyAsync(TimeSpan.FromSeconds(30));
            await stopLoad.CancelAsync();
            await Task.WhenAll(loading, probing);
            var listening = await WaitListenersAsync(database.ConnectionString, Nodes, TimeSpan.FromSeconds(30));
            var problems = new List<string>(load.Failures);
            foreach (var (id, body) in load.Acknowledged)
            {
                var (outcome, result, _) = await WaitCompleteAsync(client, addresses[0], "job", id);
                if (outcome != "succeeded" || result != body)
                {
                    problems.Add($"lost {id}: {outcome} '{result}' for '{body}'");
                }
            }

            for (var i = 0; i < Nodes; i++)
            {
                var (longOutcome, longResult, longAttempts) = await WaitCompleteAsync(client, addresses[0], "long", longIds[i]);
                if (longOutcome != "succeeded" || longResult != "long-" + i || longAttempts != 1)
                {
                    problems.Add($"long request {i}, running through the outage, ended {longOutcome} '{longResult}' after {longAttempts} attempts; its lease was taken");
                }
            }

            for (var i = 0; i < Nodes; i++)
            {
                if (nodes[i].HasExited)
                {
                    problems.Add($"node {i} exited:\n{nodes[i].Output}");
                }

                if (load.AcknowledgedAfter(i, recovered) == 0)
                {
                    problems.Add($"node {i} acknowledged nothing after the database returned");
                }

                var transitions = probes.Transitions(i);
                if (outageLength > TimeSpan.Zero && !transitions.SequenceEqual([HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK]))
                {
                    problems.Add($"node {i} /readyz went {string.Join(" → ", transitions.Select(t => (int)t))}, not 200 → 503 → 200");
                }
            }

            if (listening != Nodes)
            {
                problems.Add($"{listening} of {Nodes} nodes listen for queued work again");
            }

            if (outageLength > TimeSpan.Zero && load.Refused == 0)
            {
                problems.Add("no request was answered 503 while the database was away");
            }

            Assert.True(load.Acknowledged.Count > 20, $"only {load.Acknowledged.Count} requests acknowledged");
            Assert.Empty(problems);
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Dispose();
            }

            foreach (var world in worlds)
            {
                await world.DisposeAsync();
            }
        }
    }

    private static async Task<string> PostAsync(HttpClient client, Uri unit, string body)
    {
        using var response = await client.PostAsync(unit, new StringContent(body));
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        return response.Headers.GetValues("X-Correlation-Id").Single();
    }

    private static async Task WaitRunningAsync(HttpClient client, Uri node, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync(new Uri(node, $"api/long/{id}")));
            if (doc.RootElement.GetProperty("outcome").GetString() == "running")
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"request {id} never ran");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the request is complete; returns its outcome, its last attempt's result and its number of attempts.</summary>
    private static async Task<(string? Outcome, string Result, int Attempts)> WaitCompleteAsync(HttpClient client, Uri node, string unit, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync(new Uri(node, $"api/{unit}/{id}")));
            var record = doc.RootElement;
            if (record.GetProperty("complete").GetBoolean())
            {
                var attempts = record.GetProperty("attempts");
                var last = attempts[attempts.GetArrayLength() - 1].GetProperty("id").GetString();
                var result = await client.GetStringAsync(new Uri(node, $"api/{unit}/{id}/attempt/{last}"));
                return (record.GetProperty("outcome").GetString(), result, attempts.GetArrayLength());
            }

            Assert.True(DateTime.UtcNow < deadline, $"request {id} did not complete: {record}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until <paramref name="expected"/> connections of the database listen for queued work again; returns how many do.</summary>
    internal static async Task<long> WaitListenersAsync(string connectionString, int expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        while (true)
        {
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND state = 'idle'", connection);
            var count = (long)(await command.ExecuteScalarAsync())!;
            if (count >= expected || DateTime.UtcNow > deadline)
            {
                return count;
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Posts a request with a body of its own every 40 ms, to each node in turn, and sorts the answers.</summary>
    private sealed class Load(HttpClient client, Uri[] nodes)
    {
        private readonly ConcurrentQueue<(int Node, int Sent)> _acknowledgedBy = new();
        private int _sent;
        private int _refused;

        public ConcurrentQueue<(string Id, string Body)> Acknowledged { get; } = new();

        public ConcurrentQueue<string> Failures { get; } = new();

        public int Sent => Volatile.Read(ref _sent);

        public int Refused => Volatile.Read(ref _refused);

        public int AcknowledgedAfter(int node, int sent) => _acknowledgedBy.Count(a => a.Node == node && a.Sent >= sent);

        public async Task RunAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref _sent);
                var node = n % nodes.Length;
                var body = "request-" + n.ToString(CultureInfo.InvariantCulture);
                try
                {
                    using var response = await client.PostAsync(new Uri(nodes[node], "api/job/"), new StringContent(body), CancellationToken.None);
                    if (response.StatusCode == HttpStatusCode.SeeOther)
                    {
                        Acknowledged.Enqueue((response.Headers.GetValues("X-Correlation-Id").Single(), body));
                        _acknowledgedBy.Enqueue((node, n));
                    }
                    else if (response.StatusCode == HttpStatusCode.ServiceUnavailable
                        && response.Headers.RetryAfter is not null
                        && response.Content.Headers.ContentType?.MediaType == "application/problem+json")
                    {
                        Interlocked.Increment(ref _refused);
                    }
                    else
                    {
                        Failures.Enqueue($"{body} on node {node}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Failures.Enqueue($"{body} on node {node}: {e.GetType().Name} {e.Message}");
                }

                try
                {
                    await Task.Delay(40, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Asks every node's <c>/readyz</c> every 250 ms and keeps the answers in order.</summary>
    private sealed class ReadinessProbes(HttpClient client, Uri[] nodes)
    {
        private readonly List<HttpStatusCode>[] _answers = [.. nodes.Select(_ => new List<HttpStatusCode>())];

        /// <summary>Drops the answers so far; the transitions start from the next answers.</summary>
        public void Forget()
        {
            foreach (var answers in _answers)
            {
                lock (answers)
                {
                    answers.Clear();
                }
            }
        }

        private HttpStatusCode? LastOrNone(int node)
        {
            lock (_answers[node])
            {
                return _answers[node].Count == 0 ? null : _answers[node][^1];
            }
        }

        /// <summary>The answers of one node with repeats folded: <c>[200, 503, 200]</c> for one outage.</summary>
        public HttpStatusCode[] Transitions(int node)
        {
            lock (_answers[node])
            {
                var folded = new List<HttpStatusCode>();
                foreach (var answer in _answers[node])
                {
                    if (folded.Count == 0 || folded[^1] != answer)
                    {
                        folded.Add(answer);
                    }
                }

                return [.. folded];
            }
        }

        public async Task WaitAllReadyAsync(TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (Enumerable.Range(0, nodes.Length).Any(i => LastOrNone(i) != HttpStatusCode.OK))
            {
                Assert.True(DateTime.UtcNow < deadline, "a node's /readyz did not come back to 200");
                await Task.Delay(100);
            }
        }

        public async Task RunAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                for (var i = 0; i < nodes.Length; i++)
                {
                    HttpStatusCode status;
                    try
                    {
                        using var response = await client.GetAsync(new Uri(nodes[i], "readyz"), CancellationToken.None);
                        status = response.StatusCode;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        status = HttpStatusCode.GatewayTimeout;
                    }

                    lock (_answers[i])
                    {
                        _answers[i].Add(status);
                    }
                }

                try
                {
                    await Task.Delay(250, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
