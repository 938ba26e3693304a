using System.Net;

namespace NanoRun.Server.Tests.Process;

/// <summary>The real server keeps its data folder private (folders 0700, files 0600) while units' commands keep the umask it started with.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrivateDataFolderTests
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task Server_DataFolderAndStoreFiles_PrivateWhileCommandsKeepTheStartUmask()
    {
        await using var world = TestWorld.Create();
        var startMask = ProcessUmask();
        Assert.NotEqual("0077", startMask); // otherwise the command's umask proves nothing
        var data = Path.Combine(world.Root, "private-data");
        using var server = ServerProcess.Start(world.Root, "run", "--bind", "127.0.0.1:0", "--directory", data, "sh", "-c", "umask; cat");
        using var client = new HttpClient { BaseAddress = await server.WaitListeningAsync(), Timeout = TimeSpan.FromSeconds(60) };
        var body = new string('b', 64 * 1024); // larger than the inline threshold: stored as files

        using var response = await client.PutAsync("api/main/?wait=30s", new StringContent(body));
        var output = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(startMask + "\n" + body, output);
        var folders = Directory.GetDirectories(data, "*", SearchOption.AllDirectories).Append(data).ToList();
        var files = Directory.GetFiles(data, "*", SearchOption.AllDirectories);
        Assert.True(files.Length >= 4, "expected the database, its journal files, the lock and the body and result: " + string.Join(", ", files));
        Assert.All(folders, f => Assert.Equal((f, FolderMode), (f, File.GetUnixFileMode(f))));
        Assert.All(files, f => Assert.Equal((f, FileMode), (f, File.GetUnixFileMode(f))));
    }

    // The test process's umask, which the server it starts inherits, as the shell prints it ("0022").
    private static string ProcessUmask()
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("Umask:", StringComparison.Ordinal));
        return line["Umask:".Length..].Trim();
    }
}
