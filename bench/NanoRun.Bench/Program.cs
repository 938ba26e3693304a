using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using NanoRun.Bench;

// End-to-end benchmarks of the published server: each scenario starts the binary in a temp folder, drives it over
// loopback with a bounded number of requests, and writes report.md, results.json and RSS plots to --out.
//   NanoRun.Bench --server PATH [--out DIR] [--runs 3] [--requests 20000] [--only post,spawn,sync,big]   the suite
//   NanoRun.Bench --server PATH --only nodes [--nodes 1,2,3] [--requests 3000]              shared mode on a private PostgreSQL
//   NanoRun.Bench --server PATH --queued 1000000 [--max-minutes 60]                       many queued requests, then restart
//   NanoRun.Bench --server PATH --soak 10 [--rate 50]                                     steady load for N minutes
//   NanoRun.Bench --search 1000000                                                        fill a store directly, time searches
var server = Arg("--server") ?? (Arg("--search") is not null ? "." : throw new ArgumentException("--server PATH to the nano-run binary is required"));
server = Path.GetFullPath(server);
var output = Path.GetFullPath(Arg("--out") ?? "artifacts/bench");
var report = new Report();
string title;

if (Arg("--search") is { } searchText)
{
    title = await SearchAtScale.RunAsync(int.Parse(searchText, CultureInfo.InvariantCulture), report);
}
else if (Arg("--queued") is { } queuedText)
{
    title = await QueuedAsync(int.Parse(queuedText, CultureInfo.InvariantCulture), TimeSpan.FromMinutes(double.Parse(Arg("--max-minutes") ?? "60", CultureInfo.InvariantCulture)));
}
else if (Arg("--soak") is { } soakText)
{
    title = await SoakAsync(double.Parse(soakText, CultureInfo.InvariantCulture), double.Parse(Arg("--rate") ?? "50", CultureInfo.InvariantCulture));
}
else
{
    var only = (Arg("--only") ?? "post,spawn,sync,big").Split(',');
    title = await SuiteAsync(int.Parse(Arg("--runs") ?? "3", CultureInfo.InvariantCulture), int.Parse(Arg("--requests") ?? "20000", CultureInfo.InvariantCulture), only);
    if (only.Contains("nodes"))
    {
        SharedNodes.Chart(report, SharedNodes.Counts(Arg("--nodes")));
    }
}

await report.WriteAsync(output, title);
Console.WriteLine(report.Markdown());
Console.WriteLine($"written to {output}");
return 0;

async Task<string> SuiteAsync(int runs, int requests, string[] only)
{
    for (var run = 1; run <= runs; run++)
    {
        Console.Error.WriteLine($"run {run}/{runs}");
        if (only.Contains("post"))
        {
            // Enqueue alone: each unit's one worker is busy with its first request for the whole run, so what is
            // measured is the durable acknowledgement, not the work (the next block measures both together).
            await using (var world = await BenchServer.StartAsync(server, units: 13, unitYaml: "command: sleep 1000\nworkers: 1\n"))
            {
                await Task.Delay(1000);
                report.Add("idle RSS, 13 units", "MB", world.RssMb());
                report.Add("idle private dirty, 13 units", "MB", world.PrivateDirtyMb());
                await using var sampler = new RssSampler(world.Pid, TimeSpan.FromMilliseconds(200));
                var (rate16, p50, p99) = await Load.PostAsync(world.Client, "u0", requests, 16);
                report.Add("durable POST acks/s, 16 connections", "req/s", rate16);
                report.Add("POST latency p50, 16 connections", "ms", p50);
                report.Add("POST latency p99, 16 connections", "ms", p99);
                var (rate64, _, _) = await Load.PostAsync(world.Client, "u1", requests, 64);
                report.Add("durable POST acks/s, 64 connections", "req/s", rate64);
                report.Add("RSS after the POST runs", "MB", world.RssMb());
                report.Add("private dirty after the POST runs", "MB", world.PrivateDirtyMb());
                if (Wrk.Installed)
                {
                    // The same burst from an external driver: wrk, 16 connections for 8 s.
                    var (wrkRate, wrkP99) = await Wrk.PostAsync(world.Client, "u2", 16, TimeSpan.FromSeconds(8));
                    report.Add("durable POST acks/s, 16 connections, wrk 8 s", "req/s", wrkRate);
                    report.Add("POST latency p99, 16 connections, wrk", "ms", wrkP99);
                    report.Add("RSS after the wrk burst", "MB", world.RssMb());
                    report.Add("private dirty after the wrk burst", "MB", world.PrivateDirtyMb());
                }

                report.Add("peak RSS during the POST runs", "MB", world.PeakRssMb());
                if (run == 1)
                {
                    report.AddSeries(Wrk.Installed ? "POST bursts, 16 then 64 connections, then wrk" : "POST bursts, 16 then 64 connections", sampler.Samples);
                }
            }

            await using (var world = await BenchServer.StartAsync(server, units: 1))
            {
                var (busy, _, _) = await Load.PostAsync(world.Client, "u0", requests / 2, 16);
                report.Add("durable POST acks/s, 16 connections, the unit running `true` for each meanwhile", "req/s", busy);
                report.Add("peak RSS, POSTs while running `true`", "MB", world.PeakRssMb());
            }
        }

        if (only.Contains("spawn"))
        {
            var raw = await RawSpawn.RateAsync(TimeSpan.FromSeconds(5), loops: 2);
            report.Add("raw spawn of /bin/sh -c true (posix_spawn + waitpid), 2 loops", "proc/s", raw);
            report.Add(".NET Process.Start of /bin/sh -c true, 2 loops", "proc/s", await RawSpawn.ProcessStartRateAsync(TimeSpan.FromSeconds(5), loops: 2));
            await using (var world = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: 'true'\nworkers: 2\n"))
            {
                var e2e = await Load.EndToEndAsync(world, "u0", Math.Min(requests, 5000));
                report.Add("end-to-end `true` jobs/s, workers: 2", "req/s", e2e);
                report.Add("end-to-end / raw spawn", "%", 100 * e2e / raw);
            }
        }

        if (only.Contains("nodes"))
        {
            // Every other run takes the node counts in reverse, so a machine that speeds up or slows down over the runs
            // does not favour one count.
            var counts = SharedNodes.Counts(Arg("--nodes"));
            await SharedNodes.RunAsync(server, report, Math.Min(requests, 5000), run % 2 == 0 ? [.. counts.Reverse()] : counts);
        }

        var syncCount = Math.Min(requests, 5000);
        if (only.Contains("sync"))
        {
            await using (var world = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: 'true'\nworkers: 8\n"))
            {
                var put = await Load.RoundTripsAsync(world.Client, () => new HttpRequestMessage(HttpMethod.Put, "api/u0/") { Content = new ByteArrayContent([]) }, syncCount, 16);
                report.Add("synchronous PUT round-trips/s, `true`, 16 connections", "req/s", put);
                if (Webhook.Installed)
                {
                    await using var webhook = await Webhook.StartAsync();
                    var hooks = await Load.RoundTripsAsync(webhook.Client, () => new HttpRequestMessage(HttpMethod.Post, "hooks/true") { Content = new ByteArrayContent([]) }, syncCount, 16);
                    report.Add("webhook (Debian) synchronous hooks/s, `true`, 16 connections", "req/s", hooks);
                    report.Add("webhook RSS after its run", "MB", webhook.RssMb());
                    report.Add("synchronous PUT / webhook", "%", 100 * put / hooks);
                }
            }
        }

        if (only.Contains("big"))
        {
            await using (var world = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: wc -c\nmax_request: 0\n"))
            await using (var sampler = new RssSampler(world.Pid, TimeSpan.FromMilliseconds(200)))
            {
                await Load.BigBodiesAsync(world, "u0", 1L << 30, 1);
                report.Add("peak RSS, one 1 GiB body through wc -c", "MB", world.PeakRssMb());
                if (run == 1)
                {
                    report.AddSeries("large bodies, one of 1 GiB", sampler.Samples);
                }
            }

            await using (var world = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: wc -c\nmax_request: 0\nworkers: 10\n"))
            await using (var sampler = new RssSampler(world.Pid, TimeSpan.FromMilliseconds(200)))
            {
                await Load.BigBodiesAsync(world, "u0", 100L << 20, 10);
                report.Add("peak RSS, 10 bodies of 100 MiB at once through wc -c", "MB", world.PeakRssMb());
                if (run == 1)
                {
                    report.AddSeries("large bodies, ten of 100 MiB at once", sampler.Samples);
                }
            }
        }
    }

    return $"Nano-Run benchmark suite, {runs} runs of {requests} requests";
}

async Task<string> QueuedAsync(int total, TimeSpan budget)
{
    // A unit that never finishes its first request, so everything posted stays queued; then kill -9 and restart.
    // Posting stops after the chunk that crosses the time budget, so a slow machine still ends.
    const string unit = "command: sleep 1000\nworkers: 1\n";
    var chunk = Math.Max(1000, total / 20);
    var folder = Path.Combine(Path.GetTempPath(), "nano-run-bench-queued-" + Guid.NewGuid().ToString("N"));
    var rates = new List<double>();
    var queued = 0;
    await using (var world = await BenchServer.StartAsync(server, units: 1, unitYaml: unit, root: folder))
    await using (var sampler = new RssSampler(world.Pid, TimeSpan.FromSeconds(1)))
    {
        var clock = Stopwatch.StartNew();
        while (queued < total && clock.Elapsed < budget)
        {
            var count = Math.Min(chunk, total - queued);
            var (rate, _, _) = await Load.PostAsync(world.Client, "u0", count, 16);
            rates.Add(rate);
            queued += count;
            Console.Error.WriteLine(FormattableString.Invariant($"  {queued} queued, {rate:0} acks/s, RSS {world.RssMb():0.#} MB"));
        }

        if (queued < total)
        {
            Console.Error.WriteLine(FormattableString.Invariant($"  stopped at {queued} of {total} after the {budget.TotalMinutes:0.#} min budget"));
        }

        report.Add("requests queued", "req", queued);
        report.Add("time to queue them", "s", clock.Elapsed.TotalSeconds);
        report.Add($"durable POST acks/s, first {chunk} requests, 16 connections", "req/s", rates[0]);
        report.Add($"durable POST acks/s, last chunk (queue {queued - chunk}+ deep)", "req/s", rates[^1]);
        report.Add("last / first enqueue rate", "%", 100 * rates[^1] / rates[0]);
        report.Add($"RSS with {queued} queued, at the end", "MB", world.RssMb());
        report.Add($"private dirty with {queued} queued, at the end", "MB", world.PrivateDirtyMb());
        report.Add($"peak RSS while queuing {queued}", "MB", world.PeakRssMb());
        report.Add($"peak private dirty while queuing {queued} (sampled each second)", "MB", Math.Max(sampler.PeakPrivateDirtyMb, world.PrivateDirtyMb()));
        var mb = BenchServer.FolderMb(Path.Combine(folder, "data"));
        report.Add($"data folder with {queued} queued (1-byte bodies)", "MB", mb);
        report.Add("disk per queued request", "bytes", mb * 1024 * 1024 / queued);
        report.AddSeries($"{queued} queued requests", sampler.Samples);
        report.AddSeries($"{queued} queued requests, anonymous part of RSS", sampler.Anonymous);
        report.AddSeries($"{queued} queued requests, private dirty", sampler.PrivateDirty);
        world.Keep = true;
    }

    var restartClock = Stopwatch.StartNew();
    await using (var restarted = await BenchServer.StartAsync(server, units: 1, unitYaml: unit, root: folder))
    {
        report.Add($"restart until the API answers, {queued} queued", "s", restartClock.Elapsed.TotalSeconds);
        report.Add("RSS after the restart", "MB", restarted.RssMb());
        report.Add("private dirty after the restart", "MB", restarted.PrivateDirtyMb());
    }

    return $"Nano-Run with {queued} queued requests";
}

async Task<string> SoakAsync(double minutes, double perSecond)
{
    await using var world = await BenchServer.StartAsync(server, units: 1, unitYaml: "command: 'true'\nworkers: 2\n");
    await using var sampler = new RssSampler(world.Pid, TimeSpan.FromSeconds(1));
    var sent = await Load.SteadyAsync(world.Client, "u0", perSecond, TimeSpan.FromMinutes(minutes));
    var samples = sampler.Samples;
    var window = Math.Min(60, samples[^1].Seconds / 2);
    var first = samples.Where(s => s.Seconds <= window).Select(s => s.Mb).Order().ToList();
    var last = samples.Where(s => s.Seconds >= samples[^1].Seconds - window).Select(s => s.Mb).Order().ToList();
    report.Add("requests posted", "req", sent);
    report.Add("RSS median, first minute", "MB", first[first.Count / 2]);
    report.Add("RSS median, last minute", "MB", last[last.Count / 2]);
    report.Add("RSS at the end", "MB", world.RssMb());
    report.Add("private dirty at the end", "MB", world.PrivateDirtyMb());
    report.Add("peak RSS", "MB", world.PeakRssMb());
    report.Add("peak private dirty (sampled each second)", "MB", Math.Max(sampler.PeakPrivateDirtyMb, world.PrivateDirtyMb()));
    report.Add("RSS trend over the second half (least squares)", "MB/min", 60 * Slope(samples.Skip(samples.Count / 2).ToList()));
    report.Add("private dirty trend over the second half (least squares)", "MB/min", 60 * Slope(sampler.PrivateDirty.Skip(samples.Count / 2).ToList()));
    report.AddSeries(FormattableString.Invariant($"soak, {perSecond:0} req/s for {minutes:0.#} min"), samples);
    report.AddSeries("soak, anonymous part of RSS", sampler.Anonymous);
    report.AddSeries("soak, private dirty", sampler.PrivateDirty);
    return FormattableString.Invariant($"Nano-Run soak, {perSecond:0} requests/s for {minutes:0.#} minutes");
}

static double Slope(List<(double Seconds, double Mb)> points)
{
    var mx = points.Average(p => p.Seconds);
    var my = points.Average(p => p.Mb);
    var den = points.Sum(p => (p.Seconds - mx) * (p.Seconds - mx));
    return den == 0 ? 0 : points.Sum(p => (p.Seconds - mx) * (p.Mb - my)) / den;
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
