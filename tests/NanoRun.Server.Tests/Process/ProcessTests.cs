using System.Net;

namespace NanoRun.Server.Tests.Process;

public sealed class ProcessTests
{
    [Fact]
    public async Task KillHard_WithQueuedRequests_EveryAcknowledgedRequestCompletesAfterRestart()
    {
        await using var world = TestWorld.Create().WithUnit("job", "command: 'sleep 30; cat'\nworkers: 1\n");
        var ids = new List<string>();

        using (var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml))
        {
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await server.WaitListeningAsync() };
            for (var i = 0; i < 8; i++)
            {
                using var response = await client.PostAsync("api/job/", new StringContent("body-" + i));
                Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
                ids.Add(response.Headers.GetValues("X-Correlation-Id").Single());
            }

            server.KillHard();
            await server.WaitExitAsync(TimeSpan.FromSeconds(10));
        }

        world.WithUnit("job", "command: cat\nworkers: 2\n");
        using var restarted = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var again = new HttpClient { BaseAddress = await restarted.WaitListeningAsync() };
        for (var i = 0; i < ids.Count; i++)
        {
            var record = await WaitCompleteAsync(again, ids[i]);
            var attempts = record.GetProperty("attempts");
            var last = attempts[attempts.GetArrayLength() - 1].GetProperty("id").GetString();
            Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
            Assert.Equal("body-" + i, await again.GetStringAsync($"api/job/{ids[i]}/attempt/{last}"));
        }
    }

    [Fact]
    public async Task Terminate_RunningAttempt_FinishesWithinGracefulPeriodAndExitsCleanly()
    {
        await using var world = TestWorld.Create().WithUnit("job", "command: 'sleep 1; echo done'\n");
        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await server.WaitListeningAsync() };
        using var response = await client.PostAsync("api/job/", new StringContent("x"));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        await Task.Delay(300);

        server.Signal("TERM");
        var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(20));
        using var restarted = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var again = new HttpClient { BaseAddress = await restarted.WaitListeningAsync() };
        var record = await WaitCompleteAsync(again, id, "job");

        Assert.Equal(0, exitCode);
        Assert.Equal(1, record.GetProperty("attempts").GetArrayLength());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Terminate_AttemptLongerThanGracefulPeriod_IsRunAgainAfterRestart()
    {
        await using var world = TestWorld.Create().WithUnit("job", "command: 'sleep 30; echo done'\n");
        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await server.WaitListeningAsync() };
        using var response = await client.PostAsync("api/job/", new StringContent("x"));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        await Task.Delay(300);

        server.Signal("TERM");
        var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(20));
        world.WithUnit("job", "command: echo quick\n");
        using var restarted = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var again = new HttpClient { BaseAddress = await restarted.WaitListeningAsync() };
        var record = await WaitCompleteAsync(again, id, "job");

        Assert.Equal(0, exitCode);
        Assert.Equal(1, record.GetProperty("attempts").GetArrayLength());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Start_BadUnitFile_ExitsWithFileKeyAndReason()
    {
        await using var world = TestWorld.Create().WithUnit("broken", "command: cat\nattempts: many\n");

        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("broken.yaml", server.Output);
        Assert.Contains("attempts", server.Output);
    }

    [Fact]
    public async Task Start_MissingConfigWithFail_ExitsNonZero()
    {
        await using var world = TestWorld.Create();

        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", Path.Combine(world.Root, "missing.yaml"), "--fail");
        var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("missing.yaml", server.Output);
    }

    [Fact]
    public async Task Start_NoArgumentsNoServerYaml_UsesTransientDefault()
    {
        await using var world = TestWorld.Create();
        File.Delete(world.ServerYaml);
        Directory.CreateDirectory(Path.Combine(world.Root, "run", "conf.d"));
        await File.WriteAllTextAsync(Path.Combine(world.Root, "run", "conf.d", "hello.yaml"), "command: echo hello\n");

        using var server = ServerProcess.Start(world.Root);
        var address = await server.WaitListeningAsync();
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = address };
        using var put = await client.PutAsync("api/hello/?wait=10s", new StringContent(""));
        using var root = await client.GetAsync("/");

        Assert.Equal("http://127.0.0.1:8989/", address.ToString());
        Assert.Equal(HttpStatusCode.SeeOther, put.StatusCode);
        Assert.True(Directory.Exists(Path.Combine(world.Root, "run", "data")));
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.Equal("/ui/", root.Headers.Location!.OriginalString);
    }

    private static async Task<System.Text.Json.JsonElement> WaitCompleteAsync(HttpClient client, string id, string unit = "job")
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"api/{unit}/{id}"));
            if (doc.RootElement.GetProperty("complete").GetBoolean())
            {
                return doc.RootElement.Clone();
            }

            Assert.True(DateTime.UtcNow < deadline, $"request {id} did not complete: {doc.RootElement}");
            await Task.Delay(50);
        }
    }
}
