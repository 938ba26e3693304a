using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using NanoRun.Bench;

// End-to-end load driver: starts the published server binary in a temp folder, drives it over loopback with a
// bounded number of requests, and prints a markdown table of medians over several runs.
// Usage: NanoRun.Bench --server PATH [--runs 3] [--requests 20000] [--skip-big]
var server = Arg(args, "--server") ?? throw new ArgumentException("--server PATH to the nano-run binary is required");
var runs = int.Parse(Arg(args, "--runs") ?? "3", CultureInfo.InvariantCulture);
var requests = int.Parse(Arg(args, "--requests") ?? "20000", CultureInfo.InvariantCulture);
var skipBig = args.Contains("--skip-big");
if (Arg(args, "--restart-pending") is { } pendingText)
{
    // Restart time with many acknowledged requests waiting: fill a unit that never finishes, kill -9, time the restart.
    var pending = int.Parse(pendingText, CultureInfo.InvariantCulture);
    var folder = Path.Combine(Path.GetTempPath(), "nano-run-bench-restart-" + Guid.NewGuid().ToString("N"));
    await using (var filled = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: sleep 1000\nworkers: 1\n", root: folder))
    {
        var (rate, _, _) = await Load.PostAsync(filled.Client, "u0", pending, 64);
        Console.WriteLine($"| filled {pending} pending requests | {rate:0} | req/s |");
        Console.WriteLine($"| RSS with {pending} pending | {filled.RssMb():0.#} | MB |");
        Console.WriteLine($"| data folder with {pending} pending | {BenchServer.FolderMb(folder):0.#} | MB |");
        filled.Keep = true;
    }

    var clock = Stopwatch.StartNew();
    await using (var restarted = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: sleep 1000\nworkers: 1\n", root: folder))
    {
        Console.WriteLine($"| restart until the API answers, {pending} pending | {clock.Elapsed.TotalSeconds:0.00} | s |");
        Console.WriteLine($"| RSS after restart | {restarted.RssMb():0.#} | MB |");
    }

    return 0;
}

var rows = new List<(string Name, string Unit, List<double> Values)>
{
    ("idle RSS, 10 units", "MB", []),
    ("durable POST acks/s, 16 connections", "req/s", []),
    ("POST latency p50, 16 connections", "ms", []),
    ("POST latency p99, 16 connections", "ms", []),
    ("durable POST acks/s, 64 connections", "req/s", []),
    ("RSS after POST runs", "MB", []),
    ("raw /bin/sh -c true spawns/s, 2 loops", "proc/s", []),
    ("end-to-end `true` jobs/s, workers: 2", "req/s", []),
    ("end-to-end / raw spawn ratio", "%", []),
    ("peak RSS, 1 GiB body through wc -c", "MB", []),
};

for (var run = 0; run < runs; run++)
{
    Console.Error.WriteLine($"run {run + 1}/{runs}");
    await using (var world = await BenchServer.StartAsync(server, units: 10))
    {
        await Task.Delay(1000);
        rows[0].Values.Add(world.RssMb());
        var (rate16, p50, p99) = await Load.PostAsync(world.Client, "u0", requests, 16);
        rows[1].Values.Add(rate16);
        rows[2].Values.Add(p50);
        rows[3].Values.Add(p99);
        var (rate64, _, _) = await Load.PostAsync(world.Client, "u1", requests, 64);
        rows[4].Values.Add(rate64);
        rows[5].Values.Add(world.RssMb());
    }

    var spawn = await Load.SpawnRateAsync(TimeSpan.FromSeconds(5), loops: 2);
    rows[6].Values.Add(spawn);
    await using (var world = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: 'true'\nworkers: 2\n"))
    {
        var e2e = await Load.EndToEndAsync(world, "u0", Math.Min(requests, 5000));
        rows[7].Values.Add(e2e);
        rows[8].Values.Add(100 * e2e / spawn);
    }

    if (!skipBig)
    {
        await using var world = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: wc -c\nmax_request: 0\n");
        rows[9].Values.Add(await Load.BigBodyPeakRssAsync(world, "u0", 1L << 30));
    }
}

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"| measure | median of {runs} | unit | all runs |");
report.AppendLine("|---|---:|---|---|");
foreach (var (name, unit, values) in rows)
{
    if (values.Count == 0)
    {
        continue;
    }

    var sorted = values.Order().ToList();
    var median = sorted[sorted.Count / 2];
    report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {median:0.#} | {unit} | {string.Join(", ", values.Select(v => v.ToString("0.#", CultureInfo.InvariantCulture)))} |");
}

Console.WriteLine(report);
return 0;

static string? Arg(string[] args, string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

namespace NanoRun.Bench
{
    /// <summary>The published server in a temp folder with generated units, on a free loopback port.</summary>
    internal sealed class BenchServer : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _root;

        private BenchServer(Process process, string root, HttpClient client)
        {
            _process = process;
            _root = root;
            Client = client;
        }

        public HttpClient Client { get; }

        public int Pid => _process.Id;

        /// <summary>When set, disposing keeps the folder (for a restart on the same data).</summary>
        public bool Keep { get; set; }

        public static double FolderMb(string folder) =>
            new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1024.0 / 1024.0;

        public static async Task<BenchServer> StartAsync(string binary, int units, string unitYaml = "command: 'true'\n", string? root = null)
        {
            root ??= Path.Combine(Path.GetTempPath(), "nano-run-bench-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path.Combine(root, "conf.d"));
            var port = FreePort();
            await File.WriteAllTextAsync(Path.Combine(root, "server.yaml"), $"bind: 127.0.0.1:{port}\nworking_directory: data\nconfig_directory: conf.d\n");
            for (var i = 0; i < units; i++)
            {
                await File.WriteAllTextAsync(Path.Combine(root, "conf.d", $"u{i}.yaml"), unitYaml);
            }

            var info = new ProcessStartInfo(binary) { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("server");
            info.ArgumentList.Add("run");
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(Path.Combine(root, "server.yaml"));
            var process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, MaxConnectionsPerServer = 256 })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}/"),
                Timeout = TimeSpan.FromMinutes(10),
            };
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    using var probe = await client.GetAsync("api/u0/00000000000000000000000000000000");
                    if (probe.StatusCode == HttpStatusCode.NotFound)
                    {
                        return new BenchServer(process, root, client);
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(50);
            }

            throw new InvalidOperationException("server did not start");
        }

        public double RssMb() => StatusKb("VmRSS") / 1024.0;

        public double PeakRssMb() => StatusKb("VmHWM") / 1024.0;

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            if (!Keep)
            {
                Directory.Delete(_root, recursive: true);
            }
        }

        private long StatusKb(string field)
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }

            return 0;
        }

        private static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }

    /// <summary>The load shapes.</summary>
    internal static class Load
    {
        /// <summary>Posts <paramref name="count"/> small bodies over <paramref name="connections"/> concurrent loops; returns acks/s and p50/p99 ms.</summary>
        public static async Task<(double Rate, double P50, double P99)> PostAsync(HttpClient client, string unit, int count, int connections)
        {
            var latencies = new double[count];
            var next = -1;
            var clock = Stopwatch.StartNew();
            var loops = new Task[connections];
            for (var c = 0; c < connections; c++)
            {
                loops[c] = Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < count)
                    {
                        var start = Stopwatch.GetTimestamp();
                        using var response = await client.PostAsync($"api/{unit}/", new ByteArrayContent("x"u8.ToArray()));
                        if (response.StatusCode != HttpStatusCode.SeeOther)
                        {
                            throw new InvalidOperationException($"POST answered {response.StatusCode}");
                        }

                        latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    }
                });
            }

            await Task.WhenAll(loops);
            var rate = count / clock.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            return (rate, latencies[count / 2], latencies[(int)(count * 0.99)]);
        }

        /// <summary>Raw fork/exec rate of <c>/bin/sh -c true</c> from <paramref name="loops"/> parallel loops.</summary>
        public static async Task<double> SpawnRateAsync(TimeSpan duration, int loops)
        {
            var total = 0;
            var clock = Stopwatch.StartNew();
            var tasks = new Task[loops];
            for (var l = 0; l < loops; l++)
            {
                tasks[l] = Task.Run(async () =>
                {
                    while (clock.Elapsed < duration)
                    {
                        using var p = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", "true" } })!;
                        await p.WaitForExitAsync();
                        Interlocked.Increment(ref total);
                    }
                });
            }

            await Task.WhenAll(tasks);
            return total / clock.Elapsed.TotalSeconds;
        }

        /// <summary>Posts <paramref name="count"/> requests and measures until the last one is complete; returns jobs/s.</summary>
        public static async Task<double> EndToEndAsync(BenchServer world, string unit, int count)
        {
            var clock = Stopwatch.StartNew();
            var ids = new string[count];
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    using var response = await world.Client.PostAsync($"api/{unit}/", new ByteArrayContent([]));
                    ids[i] = response.Headers.GetValues("X-Correlation-Id").First();
                }
            })));
            foreach (var id in ids)
            {
                while (true)
                {
                    using var response = await world.Client.GetAsync($"api/{unit}/{id}");
                    if (response.Headers.GetValues("X-Status").First() == "complete")
                    {
                        break;
                    }

                    await Task.Delay(20);
                }
            }

            return count / clock.Elapsed.TotalSeconds;
        }

        /// <summary>Streams <paramref name="size"/> zero bytes through the unit and returns the server's peak RSS in MB.</summary>
        public static async Task<double> BigBodyPeakRssAsync(BenchServer world, string unit, long size)
        {
            using var content = new StreamContent(new ZeroStream(size));
            using var response = await world.Client.PostAsync($"api/{unit}/", content);
            var id = response.Headers.GetValues("X-Correlation-Id").First();
            while (true)
            {
                using var record = await world.Client.GetAsync($"api/{unit}/{id}");
                if (record.Headers.GetValues("X-Status").First() == "complete")
                {
                    break;
                }

                await Task.Delay(100);
            }

            return world.PeakRssMb();
        }
    }

    /// <summary>A read-only stream of <c>length</c> zero bytes, so the driver itself uses no memory for the body.</summary>
    internal sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
