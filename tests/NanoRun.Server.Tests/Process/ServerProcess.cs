using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace NanoRun.Server.Tests.Process;

/// <summary>The real server as a child process (<c>dotnet nano-run.dll …</c>), for crash, signal and start-up tests.</summary>
internal sealed partial class ServerProcess : IDisposable
{
    private readonly System.Diagnostics.Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(System.Diagnostics.Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ServerProcess Start(string workingDirectory, params string[] args) =>
        StartWithEnvironment(workingDirectory, new Dictionary<string, string>(), args);

    /// <summary>Starts the server with extra environment variables (the <c>NANO_RUN_…</c> flags).</summary>
    public static ServerProcess StartWithEnvironment(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "nano-run.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return new ServerProcess(System.Diagnostics.Process.Start(info)!);
    }

    /// <summary>Waits for the "listening on" line and returns the base address.</summary>
    public async Task<Uri> WaitListeningAsync()
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(30)));
        if (first != _listening.Task)
        {
            throw new InvalidOperationException("server did not start listening:\n" + Output);
        }

        return await _listening.Task;
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void KillHard() => _process.Kill();

    /// <summary>The server's peak resident memory so far in KiB (<c>VmHWM</c>).</summary>
    public long PeakResidentKiB()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("no VmHWM in /proc status");
    }

    public void Signal(string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
        }
    }

    [GeneratedRegex(@"listening on:? (http[^\s""]+)")]
    private static partial Regex ListeningLine();
}
