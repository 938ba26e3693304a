using System.Net;

namespace NanoRun.Server.Tests.Api;

public sealed class CancelTests
{
    [Fact]
    public async Task Delete_RunningAttempt_KillsProcessGroupIncludingGrandchild()
    {
        var pids = Path.Combine(Path.GetTempPath(), "nano-run-pids-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(pids);
        try
        {
            await using var world = await TestWorld.Create()
                .WithUnit("tree", $"command: 'sh -c \"sleep 300 & echo \\$! > {pids}/grandchild; wait\" & echo $! > {pids}/child; wait'\n")
                .StartAsync();
            var id = await world.PostAsync("tree", "x");
            var grandchild = await ReadPidAsync(Path.Combine(pids, "grandchild"));
            var child = await ReadPidAsync(Path.Combine(pids, "child"));

            using var delete = await world.Client.DeleteAsync($"api/tree/{id}");
            var record = await world.WaitCompleteAsync("tree", id);

            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
            Assert.Equal("cancelled", record.GetProperty("outcome").GetString());
            Assert.True(await GoneAsync(grandchild), $"grandchild {grandchild} survived");
            Assert.True(await GoneAsync(child), $"child {child} survived");
        }
        finally
        {
            Directory.Delete(pids, true);
        }
    }

    [Fact]
    public async Task Delete_QueuedWithoutAttempts_RecordStaysReadable()
    {
        await using var world = await TestWorld.Create().WithUnit("busy", "command: sleep 5\nworkers: 1\n").StartAsync();
        var first = await world.PostAsync("busy", "1");
        var second = await world.PostAsync("busy", "2");

        using var delete = await world.Client.DeleteAsync($"api/busy/{second}");
        using var record = await world.Client.GetAsync($"api/busy/{second}");
        using var completed = await world.Client.GetAsync($"api/busy/{second}/completed");
        var json = await world.GetRecordAsync("busy", second);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.OK, record.StatusCode);
        Assert.Equal("complete", record.Headers.GetValues("X-Status").Single());
        Assert.Equal(HttpStatusCode.NotFound, completed.StatusCode);
        Assert.Equal("cancelled", json.GetProperty("outcome").GetString());
        Assert.Equal(0, json.GetProperty("attempts").GetArrayLength());
        using var cancelFirst = await world.Client.DeleteAsync($"api/busy/{first}");
    }

    [Fact]
    public async Task Delete_Finished_Answers409AndKeepsOutcome()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var id = await world.PostAsync("echo", "x");
        await world.WaitCompleteAsync("echo", id);

        using var delete = await world.Client.DeleteAsync($"api/echo/{id}");
        var json = await world.GetRecordAsync("echo", id);
        using var problem = System.Text.Json.JsonDocument.Parse(await delete.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Conflict, delete.StatusCode);
        Assert.Equal("application/problem+json", delete.Content.Headers.ContentType?.MediaType);
        Assert.Contains("already finished", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(id, problem.RootElement.GetProperty("id").GetString());
        Assert.Equal("succeeded", json.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Delete_Retrying_StopsFurtherAttempts()
    {
        await using var world = await TestWorld.Create().WithUnit("fail", "command: exit 1\nattempts: 5\ninterval: 1s\n").StartAsync();
        var id = await world.PostAsync("fail", "x");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await world.GetRecordAsync("fail", id)).GetProperty("attempts").GetArrayLength() < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        using var delete = await world.Client.DeleteAsync($"api/fail/{id}");
        await Task.Delay(1500);
        var json = await world.GetRecordAsync("fail", id);

        Assert.Equal("cancelled", json.GetProperty("outcome").GetString());
        Assert.Equal(1, json.GetProperty("attempts").GetArrayLength());
    }

    private static async Task<int> ReadPidAsync(string file)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(file) && int.TryParse((await File.ReadAllTextAsync(file)).Trim(), out var pid))
            {
                return pid;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("pid file " + file + " never appeared");
    }

    /// <summary>Waits until the process no longer exists or is a zombie.</summary>
    private static async Task<bool> GoneAsync(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            var stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat))
            {
                return true;
            }

            try
            {
                var text = await File.ReadAllTextAsync(stat);
                if (text[(text.LastIndexOf(')') + 2)..].StartsWith('Z'))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                return true;
            }

            await Task.Delay(20);
        }

        return false;
    }
}
