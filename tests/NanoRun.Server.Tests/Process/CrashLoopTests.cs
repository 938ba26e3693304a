using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Xunit.Abstractions;

namespace NanoRun.Server.Tests.Process;

/// <summary>
/// The real server under load, killed with SIGKILL (every fifth round SIGTERM) at random moments and restarted; afterwards
/// every acknowledged request must have completed with its own body as result.
/// </summary>
/// <remarks>
/// The short profile (CI) runs 20 rounds. Set <c>NANO_RUN_CRASH_ROUNDS</c> (such as 200) for the long profile and
/// <c>NANO_RUN_CRASH_SEED</c> to replay one run; see docs/reliability.md.
/// </remarks>
public sealed class CrashLoopTests(ITestOutputHelper output)
{
    private const int Clients = 4;

    [Fact]
    public async Task CrashLoop_KilledAtRandomMomentsUnderLoad_NoAcknowledgedRequestLostOrCorrupted()
    {
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("NANO_RUN_CRASH_ROUNDS"), CultureInfo.InvariantCulture, out var r) ? r : 20;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("NANO_RUN_CRASH_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        var random = new Random(seed);
        await using var world = TestWorld.Create();
        var runs = Path.Combine(world.Root, "runs.log");
        world.WithUnit("echo", $"command: 'echo \"$X_CORRELATION_ID\" >> {runs}; sleep 0.05; cat'\nworkers: 4\nattempts: 100\ninterval: 10ms\nmax_request: 0\n");
        var acknowledged = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var kills = 0;
        var terms = 0;

        for (var round = 0; round < rounds; round++)
        {
            using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
            var address = await server.WaitListeningAsync();
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, Clients).Select(c => DriveAsync(address, round, c, acknowledged, stop.Token)).ToArray();
            await Task.Delay(random.Next(100, 1500));

            if (round % 5 == 4)
            {
                server.Signal("TERM");
                var code = await server.WaitExitAsync(TimeSpan.FromSeconds(30));
                Assert.True(code == 0, $"SIGTERM exit code {code}:\n{server.Output}");
                terms++;
            }
            else
            {
                server.KillHard();
                await server.WaitExitAsync(TimeSpan.FromSeconds(30));
                kills++;
            }

            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        using var final = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var client = new HttpClient { BaseAddress = await final.WaitListeningAsync(), Timeout = TimeSpan.FromSeconds(60) };
        var lost = 0;
        foreach (var (id, body) in acknowledged)
        {
            var record = await WaitCompleteAsync(client, id);
            if (record is null)
            {
                lost++;
                continue;
            }

            var attempts = record.Value.GetProperty("attempts");
            var last = attempts[attempts.GetArrayLength() - 1].GetProperty("id").GetString();
            Assert.Equal("succeeded", record.Value.GetProperty("outcome").GetString());
            Assert.Equal(body, await client.GetStringAsync($"api/echo/{id}/attempt/{last}"));
        }

        var ran = File.Exists(runs) ? File.ReadAllLines(runs).Where(static l => l.Length > 0).ToList() : [];
        var duplicates = ran.Count - ran.Distinct(StringComparer.Ordinal).Count();
        output.WriteLine($"crash loop: seed {seed}, rounds {rounds} ({kills} SIGKILL, {terms} SIGTERM), acknowledged {acknowledged.Count}, lost {lost}, runs {ran.Count}, duplicate runs {duplicates}");
        Assert.Equal(0, lost);
        Assert.True(acknowledged.Count >= rounds, $"only {acknowledged.Count} requests were acknowledged in {rounds} rounds");
    }

    /// <summary>Posts requests until stopped or the server dies; records each acknowledged id with the body it carried.</summary>
    private static async Task DriveAsync(Uri address, int round, int clientIndex, ConcurrentDictionary<string, string> acknowledged, CancellationToken stop)
    {
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var body = Body(round, clientIndex, n);
            try
            {
                using var response = await client.PostAsync("api/echo/", new StringContent(body), stop);
                if (response.StatusCode == HttpStatusCode.SeeOther)
                {
                    acknowledged[response.Headers.GetValues("X-Correlation-Id").Single()] = body;
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                // The server died or is shutting down: this request was never acknowledged.
                if (!stop.IsCancellationRequested)
                {
                    await Task.Delay(20, CancellationToken.None);
                }
            }
        }
    }

    /// <summary>A body naming its request, of 0 B to 70 KiB, so both inline bodies and body files are exercised.</summary>
    private static string Body(int round, int clientIndex, int n)
    {
        var label = $"{round}/{clientIndex}/{n};";
        var size = (n % 4) switch { 0 => 0, 1 => 1, 2 => 6000, _ => 70_000 };
        var builder = new StringBuilder(label, size + label.Length);
        while (builder.Length < size)
        {
            builder.Append(label);
        }

        return builder.ToString();
    }

    private static async Task<System.Text.Json.JsonElement?> WaitCompleteAsync(HttpClient client, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync($"api/echo/{id}");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            using var doc = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (doc.RootElement.GetProperty("complete").GetBoolean())
            {
                return doc.RootElement.Clone();
            }

            await Task.Delay(100);
        }

        Assert.Fail($"request {id} did not complete within 120 s");
        return null;
    }
}
