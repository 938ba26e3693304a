using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace NanoRun.Bench;

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

    public string Root => _root;

    /// <summary>When set, disposing keeps the folder (for a restart on the same data).</summary>
    public bool Keep { get; set; }

    public static double FolderMb(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1024.0 / 1024.0;

    public static async Task<BenchServer> StartAsync(string binary, int units, string unitYaml = "command: 'true'\n", string? root = null, string serverYaml = "")
    {
        root ??= Path.Combine(Path.GetTempPath(), "nano-run-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(root, "conf.d"));
        var port = Ports.Free();
        await File.WriteAllTextAsync(Path.Combine(root, "server.yaml"), $"bind: 127.0.0.1:{port}\nworking_directory: data\nconfig_directory: conf.d\n" + serverYaml);
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
        var client = Ports.Client(port);
        // Up to 60 s: several servers starting at once on a busy machine take a while.
        for (var i = 0; i < 2400; i++)
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

            await Task.Delay(25);
        }

        throw new InvalidOperationException("server did not start");
    }

    public double RssMb() => Proc.StatusKb(_process.Id, "VmRSS") / 1024.0;

    public double PeakRssMb() => Proc.StatusKb(_process.Id, "VmHWM") / 1024.0;

    /// <summary>Pages written by this process alone (heaps, stacks, relocated data): what it costs beyond shared files.</summary>
    public double PrivateDirtyMb() => Proc.SmapsRollupKb(_process.Id, "Private_Dirty") / 1024.0;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        // Attempts run in process groups of their own, which a killed server leaves behind (`sleep 1000` units);
        // the server lists them in data/groups.
        var groups = Path.Combine(_root, "data", "groups");
        if (Directory.Exists(groups))
        {
            foreach (var file in Directory.EnumerateFiles(groups))
            {
                if (int.TryParse(Path.GetFileName(file), NumberStyles.None, CultureInfo.InvariantCulture, out var group))
                {
                    _ = Signals.kill(-group, 9);
                }
            }
        }

        _process.Dispose();
        if (!Keep)
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}

internal static partial class Signals
{
    [System.Runtime.InteropServices.LibraryImport("libc")]
    internal static partial int kill(int pid, int signal);
}

/// <summary>Loopback ports and clients.</summary>
internal static class Ports
{
    public static int Free()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static HttpClient Client(int port) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, MaxConnectionsPerServer = 256 })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}/"),
            Timeout = TimeSpan.FromMinutes(10),
        };
}

/// <summary>Reads a process's memory figures from /proc.</summary>
internal static class Proc
{
    public static long StatusKb(int pid, string field) => FieldKb($"/proc/{pid}/status", field);

    /// <summary>A sum over all mappings from <c>/proc/PID/smaps_rollup</c>, such as <c>Private_Dirty</c>.</summary>
    public static long SmapsRollupKb(int pid, string field) => FieldKb($"/proc/{pid}/smaps_rollup", field);

    private static long FieldKb(string file, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
