using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Xunit.Abstractions;

namespace NanoRun.Server.Tests.Process;

/// <summary>
/// No attempt process outlives its attempt or its server: groups left by a killed server, commands ignoring SIGINT,
/// and SIGTERM under load.
/// </summary>
public sealed class ProcessHygieneTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Server_KilledWithAttemptRunning_NextStartKillsTheLeftoverGroup()
    {
        await using var world = TestWorld.Create();
        var shellFile = Path.Combine(world.Root, "shell.pid");
        var childFile = Path.Combine(world.Root, "child.pid");
        world.WithUnit("job", $"command: 'echo $$ > {shellFile}.tmp; mv {shellFile}.tmp {shellFile}; sleep 1000 & echo $! > {childFile}.tmp; mv {childFile}.tmp {childFile}; wait'\nworkers: 1\n");
        var pids = new List<int>();
        try
        {
            using (var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml))
            {
                using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await server.WaitListeningAsync() };
                using var response = await client.PostAsync("api/job/", new StringContent("x"));
                Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
                pids.Add(await WaitPidFileAsync(shellFile));
                pids.Add(await WaitPidFileAsync(childFile));

                server.KillHard();
                await server.WaitExitAsync(TimeSpan.FromSeconds(30));
            }

            Assert.All(pids, pid => Assert.True(IsAlive(pid), $"process {pid} ended with its server"));

            world.WithUnit("job", "command: cat\nworkers: 1\n");
            using var restarted = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
            var restarting = DateTime.UtcNow;
            await restarted.WaitListeningAsync();
            var gone = await WaitUntilAsync(() => !pids.Any(IsAlive), TimeSpan.FromSeconds(20));

            output.WriteLine($"leftover group: processes {string.Join(", ", pids)} gone {(DateTime.UtcNow - restarting).TotalSeconds:F1} s after restart");
            Assert.True(gone, $"left over after restart: {string.Join(", ", pids.Where(IsAlive))}\n{restarted.Output}");
        }
        finally
        {
            KillSurvivors(pids);
        }
    }

    [Fact]
    public async Task Attempt_CommandIgnoringSigint_IsKilledAtTimeout()
    {
        await using var world = TestWorld.Create();
        var shellFile = Path.Combine(world.Root, "shell.pid");
        var childFile = Path.Combine(world.Root, "child.pid");
        world.WithUnit("job", $"command: 'trap '''' INT; echo $$ > {shellFile}.tmp; mv {shellFile}.tmp {shellFile}; sleep 1000 & echo $! > {childFile}.tmp; mv {childFile}.tmp {childFile}; wait'\ntimeout: 2s\ngraceful_timeout: 1s\nattempts: 1\n");
        await world.StartAsync();
        var pids = new List<int>();
        try
        {
            var started = DateTime.UtcNow;
            var id = await world.PostAsync("job", "x");
            pids.Add(await WaitPidFileAsync(shellFile));
            pids.Add(await WaitPidFileAsync(childFile));

            var record = await world.WaitCompleteAsync("job", id, TimeSpan.FromSeconds(15));
            var elapsed = DateTime.UtcNow - started;
            var gone = await WaitUntilAsync(() => !pids.Any(IsAlive), TimeSpan.FromSeconds(5));

            output.WriteLine($"ignoring SIGINT: complete after {elapsed.TotalSeconds:F1} s, record {record}");
            Assert.Equal("failed", record.GetProperty("outcome").GetString());
            Assert.Equal(502, record.GetProperty("attempts")[0].GetProperty("code").GetInt32());
            Assert.True(elapsed >= TimeSpan.FromSeconds(1.9), $"completed after {elapsed.TotalSeconds:F1} s, before the timeout");
            Assert.True(gone, $"left over after the timeout: {string.Join(", ", pids.Where(IsAlive))}");
        }
        finally
        {
            KillSurvivors(pids);
        }
    }

    [Fact]
    public async Task Server_SigtermWithAttemptRunning_ReleasesTheRequestForTheNextStart()
    {
        await using var world = TestWorld.Create();
        var startedFile = Path.Combine(world.Root, "started");
        world.WithUnit("job", $"command: 'touch {startedFile}; sleep 1000'\nworkers: 1\n");
        string id;
        using (var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml))
        {
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await server.WaitListeningAsync() };
            using var response = await client.PostAsync("api/job/", new StringContent("x"));
            Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
            id = response.Headers.GetValues("X-Correlation-Id").Single();
            Assert.True(await WaitUntilAsync(() => File.Exists(startedFile), TimeSpan.FromSeconds(30)), "the attempt never started");

            server.Signal("TERM");
            var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(exitCode == 0, $"SIGTERM exit code {exitCode}:\n{server.Output}");
            Assert.DoesNotContain("could not be run or recorded", server.Output, StringComparison.Ordinal);
        }

        // Released, not left leased: the next start runs it at once instead of after the 30 s lease.
        world.WithUnit("job", "command: cat\nworkers: 1\n");
        using var restarted = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var next = new HttpClient { BaseAddress = await restarted.WaitListeningAsync() };
        var restarting = DateTime.UtcNow;
        var done = false;
        while (!done && DateTime.UtcNow - restarting < TimeSpan.FromSeconds(15))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await next.GetStringAsync($"api/job/{id}"));
            done = doc.RootElement.GetProperty("outcome").GetString() == "succeeded";
            await Task.Delay(100);
        }

        output.WriteLine($"released on SIGTERM: succeeded {(DateTime.UtcNow - restarting).TotalSeconds:F1} s after restart");
        Assert.True(done, $"request {id} not run within 15 s of the restart:\n{restarted.Output}");
    }

    [Fact]
    public async Task Server_SigtermUnderLoad_ExitsZeroAndLosesNothing()
    {
        await using var world = TestWorld.Create().WithUnit("echo", "command: 'sleep 0.2; cat'\nworkers: 2\n");
        var acknowledged = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        int exitCode;
        TimeSpan stopping;

        using (var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml))
        {
            var address = await server.WaitListeningAsync();
            using var stop = new CancellationTokenSource();
            var inFlight = new int[1];
            var load = Enumerable.Range(0, 4).Select(c => DriveAsync(address, c, acknowledged, inFlight, stop.Token)).ToArray();
            Assert.True(await WaitUntilAsync(() => acknowledged.Count >= 20, TimeSpan.FromSeconds(60)), "the load never got going");
            Assert.True(await WaitUntilAsync(() => Volatile.Read(ref inFlight[0]) > 0, TimeSpan.FromSeconds(10)), "no POST in flight");

            var signalled = DateTime.UtcNow;
            server.Signal("TERM");
            exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(2 + 20));
            stopping = DateTime.UtcNow - signalled;
            await stop.CancelAsync();
            await Task.WhenAll(load);
            Assert.True(exitCode == 0, $"SIGTERM exit code {exitCode}:\n{server.Output}");
        }

        using var restarted = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var client = new HttpClient { BaseAddress = await restarted.WaitListeningAsync(), Timeout = TimeSpan.FromSeconds(60) };
        var firstSeen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var id in acknowledged.Keys)
        {
            using var response = await client.GetAsync($"api/echo/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var outcome = doc.RootElement.GetProperty("outcome").GetString()!;
            Assert.Contains(outcome, new[] { "succeeded", "queued", "running", "retrying" });
            firstSeen[outcome] = firstSeen.GetValueOrDefault(outcome) + 1;
        }

        foreach (var (id, body) in acknowledged)
        {
            var record = await WaitCompleteAsync(client, id);
            var attempts = record.GetProperty("attempts");
            var last = attempts[attempts.GetArrayLength() - 1].GetProperty("id").GetString();
            Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
            Assert.Equal(body, await client.GetStringAsync($"api/echo/{id}/attempt/{last}"));
        }

        output.WriteLine($"sigterm under load: acknowledged {acknowledged.Count}, exit {exitCode} after {stopping.TotalSeconds:F1} s, after restart {string.Join(", ", firstSeen.Select(p => $"{p.Key} {p.Value}"))}");
    }

    /// <summary>Posts until stopped; records each acknowledged id with its body and counts the POSTs in flight.</summary>
    private static async Task DriveAsync(Uri address, int clientIndex, ConcurrentDictionary<string, string> acknowledged, int[] inFlight, CancellationToken stop)
    {
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var body = string.Create(CultureInfo.InvariantCulture, $"client {clientIndex} request {n}");
            Interlocked.Increment(ref inFlight[0]);
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
                // The server is shutting down: this request was never acknowledged.
                if (!stop.IsCancellationRequested)
                {
                    await Task.Delay(20, CancellationToken.None);
                }
            }
            finally
            {
                Interlocked.Decrement(ref inFlight[0]);
            }
        }
    }

    private static async Task<System.Text.Json.JsonElement> WaitCompleteAsync(HttpClient client, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            using var response = await client.GetAsync($"api/echo/{id}");
            using var doc = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (doc.RootElement.GetProperty("complete").GetBoolean())
            {
                return doc.RootElement.Clone();
            }

            Assert.True(DateTime.UtcNow < deadline, $"request {id} did not complete within 120 s");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for a file holding a pid, written by the command through a rename.</summary>
    private static async Task<int> WaitPidFileAsync(string path)
    {
        Assert.True(await WaitUntilAsync(() => File.Exists(path), TimeSpan.FromSeconds(30)), $"{path} never appeared");
        return int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
    }

    private static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>Whether the process exists and is not a zombie waiting to be reaped.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }

    private static void KillSurvivors(IEnumerable<int> pids)
    {
        foreach (var pid in pids.Where(IsAlive))
        {
            using var kill = System.Diagnostics.Process.Start("kill", ["-9", pid.ToString(CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }
    }
}
