using System.Diagnostics;
using System.Globalization;
using NanoRun.Storage.PostgreSql;
using Npgsql;

namespace NanoRun.Bench;

/// <summary>
/// Shared mode with 1, 2 and 3 server processes on one private PostgreSQL cluster: end-to-end `true` jobs/s, enqueue
/// rate per node, claim latency p50/p99 and the database connections each node holds.
/// </summary>
/// <remarks>
/// Each node count gets a fresh database and fresh nodes named <c>node-1</c>…, so <c>pg_stat_activity.application_name</c>
/// tells their connections apart. Two units per node, both <c>true</c> with <c>workers: 2</c>: <c>u0</c> takes a burst
/// of <c>requests</c> posts spread evenly over the nodes (8 connections each) and is timed until the last is complete;
/// <c>u1</c> takes a paced trickle (20 requests/s in all, for 10 s) whose waits from acknowledgement to the start of the
/// first attempt are the claim latency: the queue is nearly empty, so the wait is the claim path itself
/// (NOTIFY or poll, the <c>SKIP LOCKED</c> claim, the spawn), not time spent behind other requests.
/// </remarks>
internal static class SharedNodes
{
    private const string Unit = "command: 'true'\nworkers: 2\n";
    private const double PacedRate = 20;
    private static readonly TimeSpan PacedFor = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(string server, Report report, int requests, int[] nodeCounts)
    {
        await using var cluster = await PostgreSqlCluster.StartPrivateAsync();
        foreach (var count in nodeCounts)
        {
            var database = await cluster.CreateDatabaseAsync();
            var given = new NpgsqlConnectionStringBuilder(database.ConnectionString);

            // The product's own pool and time-outs, not the test cluster's.
            var connectionString = new NpgsqlConnectionStringBuilder { Host = given.Host, Port = given.Port, Database = given.Database, Username = given.Username }.ConnectionString;
            await MeasureAsync(server, report, requests, count, connectionString);
            await database.DisposeAsync();
        }
    }

    private static async Task MeasureAsync(string server, Report report, int requests, int count, string connectionString)
    {
        var nodes = new List<BenchServer>();
        try
        {
            for (var i = 1; i <= count; i++)
            {
                var yaml = $"node_name: node-{i}\nstorage:\n  provider: postgresql\n  connection_string: '{connectionString}'\n";
                nodes.Add(await BenchServer.StartAsync(server, units: 2, unitYaml: Unit, serverYaml: yaml));
            }

            await using var observer = new NpgsqlConnection(connectionString + ";Application Name=bench-observer");
            await observer.OpenAsync();
            var label = Label(count);
            using var sampling = new CancellationTokenSource();
            var peaks = new Dictionary<string, long>();
            var sampler = SampleConnectionsAsync(connectionString, peaks, sampling.Token);

            // The burst: each node's share in parallel, then every request complete.
            var clock = Stopwatch.StartNew();
            var share = requests / count;
            var posts = await Task.WhenAll(nodes.Select(n => Load.PostAsync(n.Client, "u0", share, 8)));
            await WaitCompleteAsync(observer, "u0", share * count);
            var seconds = clock.Elapsed.TotalSeconds;
            report.Add($"end-to-end `true` jobs/s, {label}", "req/s", share * count / seconds);
            report.Add($"enqueue acks/s per node, {label} (mean of nodes)", "req/s", posts.Average(p => p.Rate));
            report.Add($"enqueue acks/s, all nodes, {label}", "req/s", posts.Sum(p => p.Rate));
            report.Add($"POST latency p99, {label} (worst node)", "ms", posts.Max(p => p.P99));

            // The trickle: claim latency with the queue nearly empty.
            var paced = await Task.WhenAll(nodes.Select(n => Load.SteadyAsync(n.Client, "u1", PacedRate / count, PacedFor)));
            await WaitCompleteAsync(observer, "u1", paced.Sum());
            var (p50, p99) = await ClaimLatencyAsync(observer, "u1");
            report.Add($"claim latency p50, {label}", "ms", p50);
            report.Add($"claim latency p99, {label}", "ms", p99);

            await sampling.CancelAsync();
            await sampler;
            var perNode = nodes.Select((_, i) => peaks.GetValueOrDefault($"node-{i + 1}")).ToList();
            report.Add($"database connections per node, {label} (peak, mean of nodes)", "conn", perNode.Average());
            report.Add($"database connections per node, {label} (peak, largest)", "conn", perNode.Max());
            report.Add($"database connections, all nodes, {label} (peak)", "conn", peaks.GetValueOrDefault("all"));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task WaitCompleteAsync(NpgsqlConnection connection, string unit, int total)
    {
        await using var command = new NpgsqlCommand("SELECT count(*) FROM nano_run_requests WHERE unit = $1 AND completed_at IS NOT NULL", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = unit });
        var deadline = Stopwatch.StartNew();
        while ((long)(await command.ExecuteScalarAsync())! < total)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"{unit}: not every request completed in 10 minutes");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>p50 and p99 in ms of the wait from a request's acknowledgement to the start of its first attempt.</summary>
    private static async Task<(double P50, double P99)> ClaimLatencyAsync(NpgsqlConnection connection, string unit)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY waited), percentile_cont(0.99) WITHIN GROUP (ORDER BY waited)
            FROM (SELECT extract(epoch FROM min(a.started_at) - r.created_at) * 1000 AS waited
                  FROM nano_run_requests r JOIN nano_run_attempts a ON a.request_id = r.id
                  WHERE r.unit = $1 GROUP BY r.id, r.created_at) waits
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = unit });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetDouble(0), reader.GetDouble(1));
    }

    /// <summary>Every 200 ms, the database's connections by application name; keeps each name's peak and the peak of all nodes together.</summary>
    private static async Task SampleConnectionsAsync(string connectionString, Dictionary<string, long> peaks, CancellationToken stop)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Application Name=bench-sampler");
        await connection.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand(
            "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'node-%' GROUP BY 1",
            connection);
        while (!stop.IsCancellationRequested)
        {
            long all = 0;
            await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    var (name, connections) = (reader.GetString(0), reader.GetInt64(1));
                    peaks[name] = Math.Max(peaks.GetValueOrDefault(name), connections);
                    all += connections;
                }
            }

            peaks["all"] = Math.Max(peaks.GetValueOrDefault("all"), all);
            try
            {
                await Task.Delay(200, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Charts, over the node counts, end-to-end jobs/s (each run and the median) and the claim latency's medians.</summary>
    public static void Chart(Report report, int[] nodeCounts)
    {
        var counts = nodeCounts.Order().ToArray();
        var x = counts.Select(c => (double)c).ToArray();
        var jobs = counts.Select(c => report.Values($"end-to-end `true` jobs/s, {Label(c)}")).ToArray();
        var lines = new List<(string Name, double[] X, double[] Y)>();
        for (var run = 0; run < jobs.Min(j => j.Count); run++)
        {
            lines.Add(($"run {run + 1}", x, [.. jobs.Select(j => j[run])]));
        }

        lines.Add(("median", x, [.. jobs.Select(Report.Median)]));
        report.AddChart("nodes-jobs", "End-to-end `true` jobs/s on one PostgreSQL", "nodes", "jobs/s", lines);
        report.AddChart("nodes-claim-latency", "Claim latency, 20 requests/s in all", "nodes", "ms", [
            ("p50 (median of runs)", x, [.. counts.Select(c => Report.Median(report.Values($"claim latency p50, {Label(c)}")))]),
            ("p99 (median of runs)", x, [.. counts.Select(c => Report.Median(report.Values($"claim latency p99, {Label(c)}")))]),
        ]);
    }

    private static string Label(int count) => count == 1 ? "1 node" : $"{count} nodes";

    /// <summary>Parses <c>--nodes 1,2,3</c>.</summary>
    public static int[] Counts(string? text) =>
        [.. (text ?? "1,2,3").Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture))];
}
