using System.Net;

namespace NanoRun.Server.Tests.Metrics;

/// <summary>
/// Runs alone: every host in this process listens to every <c>NanoRun</c> meter, and a host of another test stopping
/// while these scrape ends streams they share, so their series would come and go with other tests' hosts.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsTests
{
    // Unit names are unique per test: every host in this process listens to every NanoRun meter, so labels keep counts apart.
    private static string UniqueUnit(string prefix) => prefix + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Metrics_KnownWorkload_CountsAcceptedRefusedAndAttempts()
    {
        var ok = UniqueUnit("ok");
        var bad = UniqueUnit("bad");
        await using var world = await TestWorld.Create()
            .WithUnit(ok, "command: cat\nmax_request: 16\n")
            .WithUnit(bad, "command: exit 1\nattempts: 1\n")
            .StartAsync();

        var first = await world.PostAsync(ok, "one");
        var second = await world.PostAsync(ok, "two");
        var third = await world.PostAsync(bad, "three");
        using var tooLarge = await world.Client.PostAsync($"api/{ok}/", new StringContent(new string('x', 100)));
        await world.WaitCompleteAsync(ok, first);
        await world.WaitCompleteAsync(ok, second);
        await world.WaitCompleteAsync(bad, third);
        var scrape = await PrometheusText.ScrapeUntilAsync(world.Client, s =>
            s.Value("nanorun_attempts_total", ("unit", ok)) + s.Value("nanorun_attempts_total", ("unit", bad)) >= 3);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal(2, scrape.Value("nanorun_requests_accepted_total", ("unit", ok)));
        Assert.Equal(1, scrape.Value("nanorun_requests_accepted_total", ("unit", bad)));
        Assert.Equal(1, scrape.Value("nanorun_requests_refused_total", ("unit", ok), ("reason", "too_large")));
        Assert.Equal(2, scrape.Value("nanorun_attempts_total", ("unit", ok), ("outcome", "succeeded"), ("status_class", "2xx")));
        Assert.Equal(1, scrape.Value("nanorun_attempts_total", ("unit", bad), ("outcome", "failed"), ("status_class", "5xx")));
        Assert.Equal(2, scrape.Value("nanorun_attempt_duration_seconds_count", ("unit", ok)));
        Assert.Equal(1, scrape.Value("nanorun_attempt_duration_seconds_count", ("unit", bad)));
        Assert.True(scrape.Value("nanorun_store_duration_seconds_count", ("operation", "enqueue")) >= 3, scrape.Text);
        Assert.True(scrape.Value("nanorun_store_duration_seconds_count", ("operation", "record_attempt")) >= 3, scrape.Text);
    }

    [Fact]
    public async Task Metrics_WaitingRequests_GaugesShowDepthAndRunning()
    {
        var slow = UniqueUnit("slow");
        var gate = Path.Combine(Path.GetTempPath(), "nano-run-gate-" + Guid.NewGuid().ToString("N"));
        await using var world = await TestWorld.Create()
            .WithUnit(slow, $"command: 'while [ ! -e {gate} ]; do sleep 0.05; done'\nworkers: 1\n")
            .StartAsync();

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await world.PostAsync(slow, "x"));
        }

        var busy = await PrometheusText.ScrapeUntilAsync(world.Client, s =>
            s.Value("nanorun_queue_depth", ("unit", slow)) == 2 && s.Value("nanorun_attempts_running", ("unit", slow)) == 1);
        await File.WriteAllTextAsync(gate, "open");
        foreach (var id in ids)
        {
            await world.WaitCompleteAsync(slow, id);
        }

        var idle = await PrometheusText.ScrapeUntilAsync(world.Client, s =>
            s.Value("nanorun_queue_depth", ("unit", slow)) == 0 && s.Value("nanorun_attempts_running", ("unit", slow)) == 0);
        File.Delete(gate);

        Assert.Equal(2, busy.Value("nanorun_queue_depth", ("unit", slow)));
        Assert.Equal(1, busy.Value("nanorun_attempts_running", ("unit", slow)));
        Assert.True(busy.Has("nanorun_queue_oldest_age_seconds"), busy.Text);
        Assert.Equal(0, idle.Value("nanorun_queue_depth", ("unit", slow)));
        Assert.Equal(0, idle.Value("nanorun_queue_oldest_age_seconds", ("unit", slow)));
        Assert.Equal(0, idle.Value("nanorun_attempts_running", ("unit", slow)));
    }

    [Fact]
    public async Task Metrics_PrivateUnit_CountedUnderPrivateLabelNeverByName()
    {
        var hidden = UniqueUnit("hidden");
        var open = UniqueUnit("open");
        await using var world = await TestWorld.Create()
            .WithUnit(hidden, "command: cat\nprivate: true\ncron:\n  - spec: \"@every 1s\"\n")
            .WithUnit(open, "command: cat\n")
            .StartAsync();
        await world.WaitCompleteAsync(open, await world.PostAsync(open, "x"));

        // The schedule queues a request every second; its acceptance is counted whether or not its attempt has run yet.
        var scrape = await PrometheusText.ScrapeUntilAsync(world.Client, s =>
            s.Value("nanorun_requests_accepted_total", ("unit", "(private)")) >= 1 && s.Value("nanorun_attempts_total", ("unit", open)) >= 1);

        Assert.DoesNotContain(hidden, scrape.Text, StringComparison.Ordinal);
        Assert.True(scrape.Value("nanorun_requests_accepted_total", ("unit", "(private)")) >= 1, scrape.Text);
        Assert.True(scrape.Has("nanorun_queue_depth"), scrape.Text);
        Assert.Equal(1, scrape.Value("nanorun_requests_accepted_total", ("unit", open)));
    }

    [Fact]
    public async Task Metrics_Default_ExposesProcessAndRuntimeSeries()
    {
        await using var world = await TestWorld.Create().WithUnit(UniqueUnit("echo"), "command: cat\n").StartAsync();

        var scrape = await PrometheusText.ScrapeUntilAsync(world.Client, s => s.Has("dotnet_process_memory_working_set_bytes"));

        Assert.True(scrape.Has("dotnet_process_memory_working_set_bytes"), scrape.Text);
        Assert.True(scrape.Has("dotnet_process_cpu_time_seconds_total"), scrape.Text);
        Assert.True(scrape.Has("dotnet_gc_collections_total") || scrape.Has("dotnet_gc_heap_total_allocated_bytes_total"), scrape.Text);
    }

    [Fact]
    public async Task Metrics_Disabled_AnswersNotFound()
    {
        await using var world = await TestWorld.Create("metrics:\n  enabled: false\n").WithUnit("echo", "command: cat\n").StartAsync();

        using var response = await world.Client.GetAsync("metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_OwnPath_ServedThere()
    {
        await using var world = await TestWorld.Create("metrics:\n  path: /internal/scrape\n").WithUnit("echo", "command: cat\n").StartAsync();

        using var moved = await world.Client.GetAsync("internal/scrape");
        using var old = await world.Client.GetAsync("metrics");

        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.Contains("# TYPE", await moved.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
    }

    [Fact]
    public async Task Metrics_OwnBind_ServedOnlyOnThatPort()
    {
        var port = FreePort();
        await using var world = await TestWorld.Create($"metrics:\n  bind: 127.0.0.1:{port}\n").WithUnit("echo", "command: cat\n").StartAsync();
        using var metricsClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        using var onMetricsPort = await metricsClient.GetAsync("metrics");
        using var apiOnMetricsPort = await metricsClient.PostAsync("api/echo/", new StringContent("x"));
        using var onMainPort = await world.Client.GetAsync("metrics");

        Assert.Equal(HttpStatusCode.OK, onMetricsPort.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, apiOnMetricsPort.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, onMainPort.StatusCode);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Metrics";
}
