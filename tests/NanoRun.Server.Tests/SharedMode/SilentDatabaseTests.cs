using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using NanoRun.Server.Tests.OpenApi;
using NanoRun.Storage.PostgreSql;
using Npgsql;

namespace NanoRun.Server.Tests.SharedMode;

/// <summary>
/// Two nodes reach PostgreSQL through a forwarder that can go silent, as a blocked port or a cut network does: connections
/// hang instead of being refused. Requests, pages and probes still answer 503 with <c>Retry-After</c> within the
/// client's time-out, and everything recovers by itself once the path is back.
/// </summary>
public sealed class SilentDatabaseTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(10);

    // The store's deadline is 5 s; the rest is room for a busy machine.
    private static readonly TimeSpan FirstAnswerLimit = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan LaterAnswerLimit = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan OutageLength = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Outage_PortSilent_ApiUiAndProbesAnswer503InTimeThenRecoverWithoutRestart()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var forwarder = SilentForwarder.Start(database.ConnectionString);
        await using var first = await Node(forwarder, "first").StartAsync();
        await using var second = await Node(forwarder, "second").StartAsync();
        TestWorld[] nodes = [first, second];
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = ClientTimeout };
        await first.WaitCompleteAsync("job", await first.PostAsync("job", "warm-up"));
        var started = await WaitNodesAsync(first, static _ => true);
        // Acknowledged just before the port goes silent: it runs, and is recorded, across the outage.
        var before = await first.PostAsync("slow", "before");

        forwarder.Hold();
        var held = Stopwatch.StartNew();
        var answers = new List<Answer>();
        var later = new List<Answer>();
        try
        {
            foreach (var node in nodes)
            {
                using var api = ApiContractHandler.Client(node.BaseAddress, ClientTimeout);
                answers.Add(await TimedAsync("POST /api/job/", () => api.PostAsync("api/job/", new StringContent("during"))));
                answers.Add(await TimedAsync("GET /ui/units/job", () => browser.GetAsync(new Uri(node.BaseAddress, "ui/units/job"))));
                answers.Add(await TimedAsync("GET /ui/", () => browser.GetAsync(new Uri(node.BaseAddress, "ui/"))));
                answers.Add(await TimedAsync("GET /readyz", () => browser.GetAsync(new Uri(node.BaseAddress, "readyz"))));
                answers.Add(await TimedAsync("POST /api/job/", () => api.PostAsync("api/job/", new StringContent("during"))));
            }

            // The port stays silent for 30 s in all, longer than a command's time-out would let a hung call last: every
            // answer meanwhile stays a quick 503.
            while (held.Elapsed < OutageLength)
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
                foreach (var node in nodes)
                {
                    using var api = ApiContractHandler.Client(node.BaseAddress, ClientTimeout);
                    later.Add(await TimedAsync("POST /api/job/", () => api.PostAsync("api/job/", new StringContent("during"))));
                    later.Add(await TimedAsync("GET /readyz", () => browser.GetAsync(new Uri(node.BaseAddress, "readyz"))));
                }
            }
        }
        finally
        {
            forwarder.Release();
        }

        var released = DateTimeOffset.UtcNow;
        var after = new List<(TestWorld Node, string Id)>();
        foreach (var node in nodes)
        {
            await WaitReadyAsync(browser, node.BaseAddress);
            after.Add((node, await node.PostAsync("job", "after")));
        }

        var beforeRecord = await first.WaitCompleteAsync("slow", before, TimeSpan.FromSeconds(30));
        var beforeAttempts = beforeRecord.GetProperty("attempts");
        var beforeResult = await first.GetResultAsync("slow", before, beforeAttempts[beforeAttempts.GetArrayLength() - 1].GetProperty("id").GetString()!);
        var beating = await WaitNodesAsync(first, list => Nodes(list).All(n => n.GetProperty("heartbeat_at").GetDateTimeOffset() > released));
        var listening = await DatabaseOutageTests.WaitListenersAsync(database.ConnectionString, nodes.Length, TimeSpan.FromSeconds(30));

        var summary = string.Join("; ", answers.Select(a => $"{a.What} {(int)a.Status} in {a.Took.TotalSeconds:0.0} s"));
        for (var i = 0; i < answers.Count; i++)
        {
            var answer = answers[i];
            Assert.True(answer.Status == HttpStatusCode.ServiceUnavailable, $"{answer.What} answered {(int)answer.Status}: {summary}");
            // A node's first call waits for the store's deadline (5 s); then the circuit is open and answers come at once.
            var limit = i % 5 == 0 ? FirstAnswerLimit : LaterAnswerLimit;
            Assert.True(answer.Took < limit, $"{answer.What} took {answer.Took}, over {limit}: {summary}");
            if (answer.What != "GET /readyz")
            {
                Assert.True(answer.RetryAfter, $"{answer.What} has no Retry-After");
            }
        }

        Assert.All(later, answer =>
        {
            Assert.True(answer.Status == HttpStatusCode.ServiceUnavailable && answer.Took < LaterAnswerLimit, $"{answer.What} answered {(int)answer.Status} in {answer.Took} while the port was silent");
        });

        string?[] types = ["application/problem+json", "text/html", "text/html", "text/plain", "application/problem+json"];
        string?[] expectedTypes = [.. types, .. types];
        Assert.Equal(expectedTypes, answers.Select(a => a.MediaType));
        foreach (var (node, id) in after)
        {
            var record = await node.WaitCompleteAsync("job", id, TimeSpan.FromSeconds(30));
            Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        }

        Assert.Equal("succeeded", beforeRecord.GetProperty("outcome").GetString());
        Assert.Equal("before", beforeResult);
        // Neither node restarted: both still beat under the start time they registered before the outage.
        Assert.Equal(StartTimes(started), StartTimes(beating));
        Assert.Equal(["first", "second"], StartTimes(beating).Keys.Order());
        Assert.All(Nodes(beating), n => Assert.False(n.GetProperty("gone").GetBoolean()));
        Assert.Equal(nodes.Length, listening);
        using var page = await browser.GetAsync(new Uri(second.BaseAddress, "ui/units/job"));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    private static TestWorld Node(SilentForwarder forwarder, string name) =>
        TestWorld.Create($"node_name: {name}\n").WithPostgreSql(forwarder.ConnectionString, lease: "10s")
            .WithUnit("job", "command: cat\n")
            .WithUnit("slow", "command: 'sleep 2; cat'\n");

    private static JsonElement.ArrayEnumerator Nodes(JsonElement list) => list.GetProperty("nodes").EnumerateArray();

    private static SortedDictionary<string, DateTimeOffset> StartTimes(JsonElement list) =>
        new(Nodes(list).ToDictionary(n => n.GetProperty("name").GetString()!, n => n.GetProperty("started_at").GetDateTimeOffset()), StringComparer.Ordinal);

    /// <summary>Polls <c>GET /api/nodes</c> until both nodes are listed and <paramref name="done"/> holds, for at most 30 s.</summary>
    private static async Task<JsonElement> WaitNodesAsync(TestWorld node, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var document = JsonDocument.Parse(await node.Client.GetStringAsync("api/nodes"));
            var list = document.RootElement.Clone();
            if (Nodes(list).Count() == 2 && done(list))
            {
                return list;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the nodes are not listed as expected: {list}");
            await Task.Delay(200);
        }
    }

    private static async Task<Answer> TimedAsync(string what, Func<Task<HttpResponseMessage>> send)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await send();
            return new(what, response.StatusCode, response.Headers.RetryAfter is not null, response.Content.Headers.ContentType?.MediaType, clock.Elapsed);
        }
        catch (TaskCanceledException)
        {
            // No answer within the client's time-out.
            return new(what, 0, false, null, clock.Elapsed);
        }
    }

    private static async Task WaitReadyAsync(HttpClient client, Uri node)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var response = await client.GetAsync(new Uri(node, "readyz"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (TaskCanceledException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"{node} /readyz did not come back to 200");
            await Task.Delay(100);
        }
    }

    private sealed record Answer(string What, HttpStatusCode Status, bool RetryAfter, string? MediaType, TimeSpan Took);

    /// <summary>
    /// A loopback TCP port in front of the cluster's unix socket. <see cref="Hold"/> makes it silent, like a firewall that
    /// drops packets: open connections pass nothing and new ones are not accepted;
    /// <see cref="Release"/> lets everything through again.
    /// </summary>
    private sealed class SilentForwarder : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly string _socketPath;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Socket> _sockets = [];
        private TaskCompletionSource _open = Opened();
        private Task _accepting = Task.CompletedTask;

        private SilentForwarder(string socketPath, string connectionString)
        {
            _socketPath = socketPath;
            // A backlog of one: while the forwarder holds, it accepts nothing, the queue fills and the kernel drops further
            // connection attempts, so a connect hangs as it does against a firewall that drops packets.
            _listener.Start(1);
            // The product's own time-outs (connect 5 s, commands 30 s), not the test cluster's generous ones.
            var given = new NpgsqlConnectionStringBuilder(connectionString);
            var builder = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
                Database = given.Database,
                Username = given.Username,
                Password = given.Password,
            };
            ConnectionString = builder.ConnectionString;
        }

        /// <summary>The database's connection string through this forwarder.</summary>
        public string ConnectionString { get; }

        public static SilentForwarder Start(string connectionString)
        {
            var given = new NpgsqlConnectionStringBuilder(connectionString);
            var forwarder = new SilentForwarder(Path.Combine(given.Host!, ".s.PGSQL." + given.Port), connectionString);
            forwarder._accepting = forwarder.AcceptAsync();
            return forwarder;
        }

        public void Hold() => Interlocked.Exchange(ref _open, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void Release() => Volatile.Read(ref _open).TrySetResult();

        public async ValueTask DisposeAsync()
        {
            Release();
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            lock (_sockets)
            {
                foreach (var socket in _sockets)
                {
                    socket.Dispose();
                }
            }

            _stop.Dispose();
        }

        private static TaskCompletionSource Opened()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }

        private Task Gate() => Volatile.Read(ref _open).Task.WaitAsync(_stop.Token);

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    await Gate();
                    client = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = ConnectAsync(client);
            }
        }

        private async Task ConnectAsync(Socket client)
        {
            var server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }

            try
            {
                await Gate();
                await server.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), _stop.Token);
                await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
            finally
            {
                client.Dispose();
                server.Dispose();
            }
        }

        private async Task PumpAsync(Socket from, Socket to)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    await Gate();
                    var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    // What arrived while the path went silent is held back until it is released, as a dropped packet is resent.
                    await Gate();
                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
