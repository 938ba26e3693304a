using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using NanoRun.Storage;

namespace NanoRun.Runners;

/// <summary>
/// Runs a bin-mode attempt: <c>shell -c command</c> in its own process group, the saved body on stdin,
/// request headers as environment variables, stdout streamed into the result and stderr into the log.
/// </summary>
/// <remarks>
/// Exit 0 with output is 200, exit 0 without output is 204, anything else 502. Every result carries
/// <c>X-Return-Code</c>: the exit code, <c>128 + signal</c> when the shell was killed by a signal
/// (137 for SIGKILL, 130 for SIGINT), or -1 when nothing could be started.
/// </remarks>
internal sealed class BinRunner : IAttemptRunner
{
    private const string SetsidPath = "/usr/bin/setsid";
    private const string SetprivPath = "/usr/bin/setpriv";
    private const string ReturnCodeHeader = "X-Return-Code";
    private const int NotStarted = -1;
    private const int CopyBufferSize = 81920;
    private const int StderrReadSize = 4096;

    // Longer stderr lines are cut here so one runaway line cannot take the server's memory.
    private const int MaxStderrLine = 8192;

    // After the group is killed nothing in it can write; output still open this long means a process
    // left the group. The output of a killed group drains in microseconds, so a second is generous.
    private static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(1);

    private readonly ILogger<BinRunner> _logger;
    private readonly TimeProvider _time;

    public BinRunner(ILogger<BinRunner> logger, TimeProvider time)
    {
        _logger = logger;
        _time = time;
    }

    public async Task<AttemptResult> RunAsync(AttemptContext context, CancellationToken cancellationToken)
    {
        var unit = context.Unit;
        if (cancellationToken.IsCancellationRequested)
        {
            return Failed(NotStarted);
        }

        uint uid = 0, gid = 0;
        if (unit.User is not null)
        {
            if (!UnixUser.IsRoot)
            {
                BinRunnerLog.StartFailed(_logger, context.RequestId, context.AttemptId, "user is set but the server does not run as root");
                return Failed(NotStarted);
            }

            if (!UnixUser.TryFind(unit.User, out uid, out gid))
            {
                BinRunnerLog.StartFailed(_logger, context.RequestId, context.AttemptId, "no such user: " + unit.User);
                return Failed(NotStarted);
            }
        }

        if (Path.IsPathRooted(unit.Shell) && !File.Exists(unit.Shell))
        {
            BinRunnerLog.StartFailed(_logger, context.RequestId, context.AttemptId, "no such shell: " + unit.Shell);
            return Failed(NotStarted);
        }

        string? workFolder = null;
        Process? process = null;
        ProcessGroup? group = null;
        try
        {
            var startInfo = new ProcessStartInfo(SetsidPath)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };

            if (unit.WorkDirectory is not null)
            {
                startInfo.WorkingDirectory = unit.WorkDirectory;
            }
            else
            {
                workFolder = Directory.CreateTempSubdirectory("nano-run-").FullName;
                startInfo.WorkingDirectory = workFolder;
                if (unit.User is not null && !UnixUser.TryChown(workFolder, uid, gid))
                {
                    BinRunnerLog.StartFailed(_logger, context.RequestId, context.AttemptId, "cannot give the work folder to user " + unit.User);
                    return Failed(NotStarted);
                }
            }

            // setsid execs in place (its parent is not a group leader), so the shell's pid is the new
            // process group's id; every child and grandchild inherits that group.
            var arguments = startInfo.ArgumentList;
            if (unit.User is not null)
            {
                arguments.Add(SetprivPath);
                arguments.Add("--reuid=" + uid.ToString(CultureInfo.InvariantCulture));
                arguments.Add("--regid=" + gid.ToString(CultureInfo.InvariantCulture));
                arguments.Add("--init-groups");
            }

            arguments.Add(unit.Shell);
            arguments.Add("-c");
            arguments.Add(unit.Command);
            SetEnvironment(startInfo.Environment, context);

            process = new Process { StartInfo = startInfo };
            try
            {
                process.Start();
            }
            catch (Win32Exception exception)
            {
                BinRunnerLog.StartFailed(_logger, context.RequestId, context.AttemptId, exception);
                return Failed(NotStarted);
            }

            group = new ProcessGroup(process.Id, _logger, context.RequestId, context.AttemptId);
            var result = await SuperviseAsync(context, process, group, cancellationToken).ConfigureAwait(false);
            group = null; // swept by SuperviseAsync; its id may belong to someone else by now
            return result;
        }
        finally
        {
            // After an exception nothing of the attempt may keep running.
            group?.Kill();
            process?.Dispose();
            if (workFolder is not null)
            {
                RemoveWorkFolder(context, workFolder);
            }
        }
    }

    private async Task<AttemptResult> SuperviseAsync(AttemptContext context, Process process, ProcessGroup group, CancellationToken cancellationToken)
    {
        var unit = context.Unit;
        using var drain = new CancellationTokenSource();
        var output = new ProcessOutputStream(process.StandardOutput.BaseStream, drain.Token);
        var stdinTask = WriteBodyAsync(context, process.StandardInput, cancellationToken);
        var stderrTask = LogStderrAsync(context, process.StandardError.BaseStream, drain.Token);

        // The result is written even when the attempt is cancelled: killing the group ends the output.
        var resultTask = context.Blobs.WriteAsync(context.ResultKey, output, 0, CancellationToken.None);

        int returnCode;
        using (var graceful = unit.GracefulTimeout is { } g ? _time.CreateTimer(ProcessGroup.OnGracefulTimeout, group, g, Timeout.InfiniteTimeSpan) : null)
        using (var timeout = unit.Timeout is { } t ? _time.CreateTimer(ProcessGroup.OnTimeout, group, t, Timeout.InfiniteTimeSpan) : null)
        using (cancellationToken.UnsafeRegister(ProcessGroup.OnCancelled, group))
        {
            var exited = process.WaitForExitAsync(CancellationToken.None);
            var first = await Task.WhenAny(exited, resultTask).ConfigureAwait(false);
            if (first == resultTask && resultTask.IsFaulted)
            {
                // The store failed: nothing would read the output any more.
                group.Kill();
                await resultTask.ConfigureAwait(false);
            }

            await exited.ConfigureAwait(false);
            returnCode = process.ExitCode;
        }

        // The shell is gone; children and grandchildren go with it, then the output ends.
        group.Kill();
        try
        {
            await Task.WhenAll(output.Ended, stderrTask).WaitAsync(OutputGrace, _time, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            BinRunnerLog.OutputCutOff(_logger, context.RequestId, context.AttemptId);
            await drain.CancelAsync().ConfigureAwait(false);
        }

        var result = await resultTask.ConfigureAwait(false);
        await stderrTask.ConfigureAwait(false);
        await stdinTask.ConfigureAwait(false);

        var code = returnCode != 0 || cancellationToken.IsCancellationRequested ? 502
            : result.Length > 0 ? 200
            : 204;
        BinRunnerLog.Finished(_logger, context.RequestId, context.AttemptId, returnCode, code, result.Length);
        return new AttemptResult(code, ReturnCodeHeaders(returnCode), result);
    }

    /// <summary>Copies the saved body to stdin and closes it; a process that stops reading is not an error.</summary>
    private async Task WriteBodyAsync(AttemptContext context, StreamWriter stdin, CancellationToken cancellationToken)
    {
        var target = stdin.BaseStream;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            var body = await context.Blobs.OpenReadAsync(context.Body, cancellationToken).ConfigureAwait(false);
            if (body is null)
            {
                BinRunnerLog.BodyMissing(_logger, context.RequestId, context.AttemptId);
                return;
            }

            await using (body.ConfigureAwait(false))
            {
                while (true)
                {
                    var read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    try
                    {
                        await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException)
                    {
                        // Broken pipe: the process closed stdin or exited without reading it.
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The attempt is cancelled; its group is being killed.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            try
            {
                await stdin.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Logs stderr line by line; lines longer than <see cref="MaxStderrLine"/> bytes are cut.</summary>
    private async Task LogStderrAsync(AttemptContext context, Stream stderr, CancellationToken drain)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(StderrReadSize);
        var line = ArrayPool<byte>.Shared.Rent(MaxStderrLine);
        var length = 0;
        var cut = false;
        try
        {
            while (true)
            {
                var read = await stderr.ReadAsync(chunk.AsMemory(0, StderrReadSize), drain).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var rest = chunk.AsSpan(0, read);
                while (!rest.IsEmpty)
                {
                    var end = rest.IndexOf((byte)'\n');
                    var piece = end < 0 ? rest : rest[..end];
                    var room = MaxStderrLine - length;
                    if (piece.Length > room)
                    {
                        piece = piece[..room];
                        cut = true;
                    }

                    piece.CopyTo(line.AsSpan(length));
                    length += piece.Length;
                    if (end < 0)
                    {
                        break;
                    }

                    LogLine(context, line, length, cut);
                    length = 0;
                    cut = false;
                    rest = rest[(end + 1)..];
                }
            }
        }
        catch (OperationCanceledException) when (drain.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            if (length > 0 || cut)
            {
                LogLine(context, line, length, cut);
            }

            ArrayPool<byte>.Shared.Return(chunk);
            ArrayPool<byte>.Shared.Return(line);
        }
    }

    private void LogLine(AttemptContext context, byte[] line, int length, bool cut)
    {
        if (length > 0 && line[length - 1] == '\r')
        {
            length--;
        }

        var text = Encoding.UTF8.GetString(line, 0, length);
        BinRunnerLog.Stderr(_logger, context.RequestId, context.AttemptId, cut ? text + "…" : text);
    }

    /// <summary>
    /// Layers the environment: the server's own (already in <paramref name="environment"/>), then request
    /// headers, then the attempt headers, then the unit's <c>environment</c>; a later layer wins, except that
    /// a header never replaces a variable the server defines nor sets one that changes how the shell or the
    /// loader behaves (<see cref="IsProtected"/>), so a caller cannot redirect <c>PATH</c> or preload a library.
    /// </summary>
    private static void SetEnvironment(IDictionary<string, string?> environment, AttemptContext context)
    {
        var headers = context.Headers;
        var fromHeaders = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);
        for (var i = 0; i < headers.Count; i++)
        {
            var name = VariableName(headers[i].Key);
            if (name is null)
            {
                continue;
            }

            fromHeaders[name] = fromHeaders.TryGetValue(name, out var earlier)
                ? earlier + "," + headers[i].Value
                : headers[i].Value;
        }

        foreach (var pair in fromHeaders)
        {
            if (!environment.ContainsKey(pair.Key) && !IsProtected(pair.Key))
            {
                environment[pair.Key] = pair.Value;
            }
        }

        environment["X_CORRELATION_ID"] = context.RequestId;
        environment["X_ATTEMPT_ID"] = context.AttemptId;
        environment["X_ATTEMPT"] = context.AttemptNumber.ToString(CultureInfo.InvariantCulture);
        foreach (var pair in context.Unit.Environment)
        {
            environment[pair.Key] = pair.Value;
        }
    }

    /// <summary>Variables a request header may not set even when the server leaves them unset.</summary>
    private static bool IsProtected(string name) =>
        name.StartsWith("LD_", StringComparison.Ordinal)
        || name is "PATH" or "IFS" or "ENV" or "BASH_ENV" or "SHELLOPTS" or "BASHOPTS" or "PS4" or "CDPATH" or "GLOBIGNORE" or "HOME" or "SHELL";

    /// <summary>Maps a header name to a variable name (upper case, <c>-</c> to <c>_</c>), or <c>null</c> when the result is not <c>[A-Z0-9_]+</c>.</summary>
    private static string? VariableName(string header)
    {
        if (header.Length == 0)
        {
            return null;
        }

        foreach (var c in header)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return null;
            }
        }

        return string.Create(header.Length, header, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = c == '-' ? '_' : char.ToUpperInvariant(c);
            }
        });
    }

    private void RemoveWorkFolder(AttemptContext context, string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            BinRunnerLog.WorkFolderNotRemoved(_logger, context.RequestId, context.AttemptId, folder, exception);
        }
    }

    private static AttemptResult Failed(int returnCode) =>
        new(502, ReturnCodeHeaders(returnCode), BodyRef.Empty);

    private static KeyValuePair<string, string>[] ReturnCodeHeaders(int returnCode) =>
        [new(ReturnCodeHeader, returnCode.ToString(CultureInfo.InvariantCulture))];
}
