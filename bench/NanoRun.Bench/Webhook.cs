using System.Diagnostics;
using System.Net.Sockets;

namespace NanoRun.Bench;

/// <summary>
/// adnanh/webhook (Debian package <c>webhook</c>) serving one synchronous hook that runs <c>/bin/true</c>, for a
/// side-by-side round-trip rate in the same run.
/// </summary>
internal sealed class Webhook : IAsyncDisposable
{
    public const string Binary = "/usr/bin/webhook";

    private readonly Process _process;
    private readonly string _folder;

    private Webhook(Process process, string folder, HttpClient client)
    {
        _process = process;
        _folder = folder;
        Client = client;
    }

    public HttpClient Client { get; }

    public int Pid => _process.Id;

    public static bool Installed => File.Exists(Binary);

    public static async Task<Webhook> StartAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "nano-run-bench-webhook-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var hooks = Path.Combine(folder, "hooks.json");
        await File.WriteAllTextAsync(hooks, """[{"id":"true","execute-command":"/bin/true","include-command-output-in-response":true}]""");
        var port = Ports.Free();
        var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-hooks", hooks, "-ip", "127.0.0.1", "-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (var i = 0; i < 400; i++)
        {
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync("127.0.0.1", port);
                return new Webhook(process, folder, Ports.Client(port));
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }

        throw new InvalidOperationException("webhook did not start");
    }

    public double RssMb() => Proc.StatusKb(_process.Id, "VmRSS") / 1024.0;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
