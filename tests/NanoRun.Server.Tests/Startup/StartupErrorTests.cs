using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NanoRun.Server.Tests.Startup;

/// <summary>
/// Every mistake a person can make when starting the server, run against the real server process: one line on stderr
/// that names the file, key or address and the reason, exit code 2, no stack trace (the exception only with --verbose).
/// </summary>
public sealed class StartupErrorTests
{
    public static TheoryData<string> Cases => new()
    {
        "config named with -c is missing",
        "config is a folder",
        "config is not valid YAML",
        "bind host is a name",
        "run --bind host is a name",
        "port in use",
        "data folder is a file",
        "data folder cannot be created",
        "TLS certificate is not a certificate",
        "PostgreSQL unreachable",
        "data folder held by another server",
        "unit file is wrong",
        "unit file names a mode no runner serves",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Start_Mistake_OneLineNamingIt_ExitCode2(string mistake)
    {
        using var folder = new Folder();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        FileStream? heldLock = null;
        string[] args = ["server", "run", "-c", "server.yaml"];
        string[] expected;
        switch (mistake)
        {
            case "config named with -c is missing":
                args = ["server", "run", "-c", "typo.yaml"];
                expected = ["typo.yaml", "not found"];
                break;
            case "config is a folder":
                Directory.CreateDirectory(folder.Path("server.yaml"));
                expected = ["server.yaml", "is a folder"];
                break;
            case "config is not valid YAML":
                folder.Write("server.yaml", "bind: 127.0.0.1:0\ntls:\n  enable: [true\n");
                expected = ["server.yaml", "invalid YAML", "line"];
                break;
            case "bind host is a name":
                folder.Write("server.yaml", "bind: myhost:8989\n");
                expected = ["server.yaml", "'bind'", "myhost:8989"];
                break;
            case "run --bind host is a name":
                args = ["run", "--bind", "myhost:8989", "-d", folder.Path("data"), "true"];
                expected = ["myhost:8989", "IP address"];
                break;
            case "port in use":
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                folder.Write("server.yaml", $"bind: 127.0.0.1:{port}\n");
                expected = [$"127.0.0.1:{port}", "address already in use"];
                break;
            case "data folder is a file":
                folder.Write("data", "not a folder");
                folder.Write("server.yaml", "bind: 127.0.0.1:0\nworking_directory: data\n");
                expected = ["server.yaml", "'working_directory'", folder.Path("data"), "is a file"];
                break;
            case "data folder cannot be created":
                // A folder under a file: no process, root or not, can create or write it.
                folder.Write("blocker", "a file");
                folder.Write("server.yaml", "bind: 127.0.0.1:0\nworking_directory: blocker/data\n");
                expected = ["server.yaml", "'working_directory'", folder.Path("blocker/data"), "not writable"];
                break;
            case "TLS certificate is not a certificate":
                folder.Write("cert.pem", "this is not a certificate\n");
                folder.Write("key.pem", "nor is this a key\n");
                folder.Write("server.yaml", "bind: 127.0.0.1:0\ntls: {enable: true, cert: cert.pem, key: key.pem}\n");
                expected = ["tls", folder.Path("cert.pem"), folder.Path("key.pem"), "cannot load certificate"];
                break;
            case "PostgreSQL unreachable":
                folder.Write(
                    "server.yaml",
                    "bind: 127.0.0.1:0\nstorage:\n  provider: postgresql\n  connection_string: 'Host=127.0.0.1;Port=1;Username=u;Password=hunter2;Database=d;Timeout=5'\n");
                expected = ["storage.connection_string", "127.0.0.1:1"];
                break;
            case "data folder held by another server":
                Directory.CreateDirectory(folder.Path("data"));
                // The lock a running server holds on its data folder (an exclusive flock on nano-run.lock).
                heldLock = new FileStream(folder.Path("data/nano-run.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                folder.Write("server.yaml", "bind: 127.0.0.1:0\nworking_directory: data\n");
                expected = [folder.Path("data"), "in use by another nano-run process"];
                break;
            case "unit file is wrong":
                Directory.CreateDirectory(folder.Path("conf.d"));
                folder.Write("conf.d/broken.yaml", "command: echo\nattempts: many\n");
                folder.Write("server.yaml", "bind: 127.0.0.1:0\nconfig_directory: conf.d\n");
                expected = ["broken.yaml", "attempts"];
                break;
            case "unit file names a mode no runner serves":
                Directory.CreateDirectory(folder.Path("conf.d"));
                folder.Write("conf.d/boxed.yaml", "command: echo\nmode: docker\n");
                folder.Write("server.yaml", "bind: 127.0.0.1:0\nconfig_directory: conf.d\n");
                expected = ["boxed.yaml", "key 'mode'", "docker", "line 2"];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mistake), mistake, null);
        }

        using (heldLock)
        {
            var result = await RunAsync(folder.Root, args);

            Assert.True(result.ExitCode == 2, $"exit code {result.ExitCode}\nstdout:\n{result.Stdout}\nstderr:\n{result.Stderr}");
            var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + result.Stderr);
            Assert.StartsWith("nano-run: ", lines[0], StringComparison.Ordinal);
            foreach (var part in expected)
            {
                Assert.Contains(part, lines[0], StringComparison.Ordinal);
            }

            Assert.DoesNotContain("   at ", result.Stdout + result.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", result.Stdout + result.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Start_PortInUseWithVerbose_OneLineThenTheException()
    {
        using var folder = new Folder();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        folder.Write("server.yaml", $"bind: 127.0.0.1:{port}\n");

        var result = await RunAsync(folder.Root, ["server", "run", "-c", "server.yaml", "--verbose"]);

        Assert.Equal(2, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("nano-run: ", lines[0], StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", lines[0], StringComparison.Ordinal);
        Assert.Contains("AddressInUseException", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NoConfigNamed_NoServerYaml_ServesTransientDefault()
    {
        using var folder = new Folder();

        // No -c and no ./server.yaml: the transient default (here with --fail: a clear refusal instead).
        var result = await RunAsync(folder.Root, ["server", "run", "--fail"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("nano-run: configuration file server.yaml not found (--fail)", result.Stderr.Trim());
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string workingDirectory, string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment.Remove("NANO_RUN_CONFIG");
        info.Environment.Remove("NANO_RUN_VERBOSE");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "nano-run.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"nano-run {string.Join(' ', args)} did not exit within 60 s:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private sealed class Folder : IDisposable
    {
        public Folder()
        {
            Root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nano-run-startup-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Root);
        }

        public string Root { get; }

        public string Path(string name) => System.IO.Path.Combine(Root, name);

        public void Write(string name, string text) => File.WriteAllText(Path(name), text, Encoding.UTF8);

        public void Dispose() => Directory.Delete(Root, recursive: true);
    }
}
