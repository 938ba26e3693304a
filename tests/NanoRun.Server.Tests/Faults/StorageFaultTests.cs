using System.Diagnostics;
using System.Net;
using NanoRun.Server.Tests.Process;

namespace NanoRun.Server.Tests.Faults;

/// <summary>Storage faults: a data folder that fills up, body files damaged while queued, a data folder the server cannot write.</summary>
public sealed class StorageFaultTests
{
    [Fact]
    public async Task Upload_DataFolderFillsUp_507PartialRemovedStoredIntactAndRecovers()
    {
        await using var world = TestWorld.Create("min_free_disk: 0\n").WithUnit("job", "command: cat\nmax_request: 0\n");
        Directory.CreateDirectory(world.DataDirectory);
        Mount(world.DataDirectory);
        try
        {
            await world.StartAsync();
            var kept = new string('k', 6000);
            var keptId = await world.PostAsync("job", kept);
            var keptRecord = await world.WaitCompleteAsync("job", keptId);

            using var full = await world.Client.PostAsync("api/job/", new ByteArrayContent(new byte[16 * 1024 * 1024]));
            var leftovers = Directory.GetFiles(Path.Combine(world.DataDirectory, "blobs"), "*.tmp", SearchOption.AllDirectories);
            var afterId = await world.PostAsync("job", "after");
            var afterRecord = await world.WaitCompleteAsync("job", afterId);

            Assert.Contains(full.StatusCode, new[] { HttpStatusCode.InsufficientStorage, HttpStatusCode.ServiceUnavailable });
            Assert.Empty(leftovers);
            Assert.Equal(kept, await world.GetResultAsync("job", keptId, LastAttempt(keptRecord)));
            Assert.Equal(kept, await world.Client.GetStringAsync($"api/job/{keptId}/request"));
            Assert.Equal("after", await world.GetResultAsync("job", afterId, LastAttempt(afterRecord)));
        }
        finally
        {
            await world.StopAsync();
            Unmount(world.DataDirectory);
        }
    }

    [Fact]
    public async Task Upload_DataFolderRemountedReadOnly_503WithRetryAfterThenRecoversWithoutRestart()
    {
        await using var world = await TestWorld.Create().WithUnit("job", "command: cat\nmax_request: 0\n").StartAsync();
        var beforeId = await world.PostAsync("job", "before");
        var beforeRecord = await world.WaitCompleteAsync("job", beforeId);
        try
        {
            // New files under the data folder land on a read-only view of it (EROFS); files the store holds open stay writable.
            Assert.True(Environment.UserName == "root", "storage fault tests mount and must run as root (CI does)");
            Run("mount", "--bind", world.DataDirectory, world.DataDirectory);
            Run("mount", "-o", "remount,bind,ro", world.DataDirectory);
            using var refused = await world.Client.PostAsync("api/job/", new StringContent(new string('r', 10_000)));
            var refusedBody = await refused.Content.ReadAsStringAsync();
            using var readWhileReadOnly = await world.Client.GetAsync($"api/job/{beforeId}");
            Unmount(world.DataDirectory);
            var afterId = await world.PostAsync("job", new string('a', 10_000));
            var afterRecord = await world.WaitCompleteAsync("job", afterId, TimeSpan.FromSeconds(60));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
            Assert.Contains("store", refusedBody, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", refusedBody, StringComparison.Ordinal);
            Assert.Contains(readWhileReadOnly.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable });
            Assert.Equal("before", await world.GetResultAsync("job", beforeId, LastAttempt(beforeRecord)));
            Assert.Equal("succeeded", afterRecord.GetProperty("outcome").GetString());
            Assert.Equal(new string('a', 10_000), await world.GetResultAsync("job", afterId, LastAttempt(afterRecord)));
        }
        finally
        {
            await world.StopAsync();
            if (File.ReadAllText("/proc/mounts").Contains(world.DataDirectory, StringComparison.Ordinal))
            {
                Unmount(world.DataDirectory);
            }
        }
    }

    [Fact]
    public async Task Claim_BodyFileDeletedOrTruncated_ThatRequestFailsWithReasonOthersRun()
    {
        await using var world = TestWorld.Create().WithUnit("job", "command: 'sleep 60'\nworkers: 1\n");
        await world.StartAsync();
        var blocker = await world.PostAsync("job", "blocker");
        var deleted = await world.PostAsync("job", new string('d', 10_000));
        var truncated = await world.PostAsync("job", new string('t', 10_000));
        var healthy = await world.PostAsync("job", new string('h', 10_000));
        await world.StopAsync();
        File.Delete(BodyFile(world, deleted));
        File.WriteAllText(BodyFile(world, truncated), "short");
        world.WithUnit("job", "command: cat\nworkers: 1\n");

        await world.StartAsync();
        var deletedRecord = await world.WaitCompleteAsync("job", deleted);
        var truncatedRecord = await world.WaitCompleteAsync("job", truncated);
        var healthyRecord = await world.WaitCompleteAsync("job", healthy);
        var blockerRecord = await world.WaitCompleteAsync("job", blocker);
        using var deletedAttempt = await world.Client.GetAsync($"api/job/{deleted}/attempt/{LastAttempt(deletedRecord)}");
        using var truncatedAttempt = await world.Client.GetAsync($"api/job/{truncated}/attempt/{LastAttempt(truncatedRecord)}");

        Assert.Equal("failed", deletedRecord.GetProperty("outcome").GetString());
        Assert.Equal(1, deletedRecord.GetProperty("attempts").GetArrayLength());
        Assert.Contains("missing", deletedAttempt.Headers.GetValues("X-Nano-Run-Error").Single(), StringComparison.Ordinal);
        Assert.Equal("failed", truncatedRecord.GetProperty("outcome").GetString());
        Assert.Contains("damaged", truncatedAttempt.Headers.GetValues("X-Nano-Run-Error").Single(), StringComparison.Ordinal);
        Assert.Equal("succeeded", healthyRecord.GetProperty("outcome").GetString());
        Assert.Equal(new string('h', 10_000), await world.GetResultAsync("job", healthy, LastAttempt(healthyRecord)));
        Assert.Equal("succeeded", blockerRecord.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Start_DataFolderNotWritable_ExitsNonZeroNamingTheFolder()
    {
        await using var world = TestWorld.Create().WithUnit("job", "command: cat\n");
        Directory.CreateDirectory(world.DataDirectory);
        Mount(world.DataDirectory, "ro,size=1m");
        try
        {
            using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);

            var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(60));

            Assert.NotEqual(0, exitCode);
            Assert.Contains(world.DataDirectory, server.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            Unmount(world.DataDirectory);
        }
    }

    private static string LastAttempt(System.Text.Json.JsonElement record)
    {
        var attempts = record.GetProperty("attempts");
        return attempts[attempts.GetArrayLength() - 1].GetProperty("id").GetString()!;
    }

    private static string BodyFile(TestWorld world, string id) =>
        Path.Combine(world.DataDirectory, "blobs", id[^2..], id, "body");

    /// <summary>Mounts a small tmpfs over <paramref name="folder"/>; these tests need root, as CI runs.</summary>
    internal static void Mount(string folder, string options = "size=8m")
    {
        Assert.True(Environment.UserName == "root", "storage fault tests mount a tmpfs and must run as root (CI does)");
        Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", folder);
    }

    internal static void Unmount(string folder) => Run("umount", "-l", folder);

    private static void Run(string program, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} failed: {error}");
    }
}
