using System.Buffers;
using System.ComponentModel;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using NanoRun.Storage;

namespace NanoRun.Runners;

/// <summary>
/// Runs <c>shell -c command</c> for one attempt in its own process group, as the unit's <c>user</c> when set,
/// in the unit's <c>workdir</c> or a fresh temporary folder: the saved body on stdin, stderr into the log and its last
/// <c>max_stderr</c> bytes kept with the attempt,
/// stdout handed to the mode's reader; <c>timeout</c>, <c>graceful_timeout</c> and cancellation signal the whole group.
/// </summary>
/// <typeparam name="TOutput">What the mode's reader makes of stdout.</typeparam>
/// <remarks>
/// The return code is the exit code, <c>128 + signal</c> when the shell was killed by a signal
/// (137 for SIGKILL, 130 for SIGINT), or -1 when nothing could be started.
/// </remarks>
internal abstract class ShellRunner<TOutput> : IAttemptRunner
{
    /// <summary>The return code of an attempt whose process could not be started.</summary>
    protected const int NotStarted = -1;

    private const string SetprivPath = "/usr/bin/setpriv";
    private const string DefaultShell = "/bin/sh";
    private const string WorkingDirectoryVariable = "PWD";
    private const string ReturnCodeHeader = "X-Return-Code";
    private const int CopyBufferSize = 81920;
    private const int StderrReadSize = 4096;

    // Longer stderr lines are cut here so one runaway line cannot take the server's memory.
    private const int MaxStderrLine = 8192;

    // After the group is killed nothing in it can write; output still open this long means a process
    // left the group. The output of a killed group drains in microseconds, so a second is generous.
    private static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly ProcessGroupLedger? _ledger;

    protected ShellRunner(ILogger logger, TimeProvider time, ProcessGroupLedger? ledger = null)
    {
        Logger = logger;
        _time = time;
        _ledger = ledger;
    }

    /// <summary>The runner's log.</summary>
    protected ILogger Logger { get; }

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
                return NotStartedResult(context, "user is set but the server does not run as root");
            }

            if (!UnixUser.TryFind(unit.User, out uid, out gid))
            {
                return NotStartedResult(context, "no such user: " + unit.User);
            }
        }

        if (unit.Shell is not null && Path.IsPathRooted(unit.Shell) && !File.Exists(unit.Shell))
        {
            return NotStartedResult(context, "no such shell: " + unit.Shell);
        }

        string? workFolder = null;
        ChildProcess? process = null;
        ProcessGroup? group = null;
        var recorded = 0;
        try
        {
            var workingDirectory = unit.WorkDirectory;
            if (workingDirectory is null)
            {
                workFolder = Directory.CreateTempSubdirectory("nano-run-").FullName;
                workingDirectory = workFolder;
                if (unit.User is not null && !UnixUser.TryChown(workFolder, uid, gid))
                {
                    return NotStartedResult(context, "cannot give the work folder to user " + unit.User);
                }
            }

            // The program (or setpriv, which execs it in place) leads a new session, so its pid is the new
            // process group's id; every child and grandchild inherits that group.
            var prefix = new List<string>(4);
            if (unit.User is not null)
            {
                prefix.Add(SetprivPath);
                prefix.Add("--reuid=" + uid.ToString(CultureInfo.InvariantCulture));
                prefix.Add("--regid=" + gid.ToString(CultureInfo.InvariantCulture));
                prefix.Add("--init-groups");
            }

            // Every command of every mode starts from the server's environment without the server's secrets.
            var environment = CommandEnvironment.FromServer();
            SetEnvironment(environment, context);

            var direct = unit.Shell is null ? DirectArguments(unit.Command, prefix, environment, workingDirectory) : null;
            if (direct is { } d)
            {
                environment.TryGetValue(WorkingDirectoryVariable, out var serverPwd);
                environment[WorkingDirectoryVariable] = d.Pwd;
                try
                {
                    process = ChildProcess.Start(d.File, d.Arguments, environment, workingDirectory);
                }
                catch (Win32Exception)
                {
                    // Nothing ran: the shell starts it instead and reports why it cannot run in its own words.
                    environment[WorkingDirectoryVariable] = serverPwd;
                }
            }

            if (process is null)
            {
                var arguments = prefix;
                arguments.Add(unit.Shell ?? DefaultShell);
                arguments.Add("-c");
                arguments.Add(unit.Command);
                try
                {
                    process = ChildProcess.Start(arguments[0], arguments, environment, workingDirectory);
                }
                catch (Win32Exception exception)
                {
                    ShellRunnerLog.StartFailed(Logger, context.RequestId, context.AttemptId, exception);
                    context.ReportFailure("could not start " + arguments[0] + ": " + exception.Message);
                    return Failed(NotStarted);
                }
            }

            group = new ProcessGroup(process.Id, Logger, context.RequestId, context.AttemptId);
            if (_ledger is not null)
            {
                // Recorded until the group is swept, so a start after this server dies can kill what is left of it.
                _ledger.Add(process.Id);
                recorded = process.Id;
            }

            var result = await SuperviseAsync(context, process, group, cancellationToken).ConfigureAwait(false);
            group = null; // swept by SuperviseAsync; its id may belong to someone else by now
            return result;
        }
        finally
        {
            // After an exception nothing of the attempt may keep running.
            group?.Kill();
            if (recorded != 0)
            {
                _ledger!.Remove(recorded);
            }

            process?.Dispose();
            if (workFolder is not null)
            {
                RemoveWorkFolder(context, workFolder);
            }
        }
    }

    /// <summary>
    /// The program and argv that run <paramref name="command"/> without a shell after <paramref name="prefix"/>, and the
    /// <c>PWD</c> the shell would have exported; <c>null</c> when the command needs a shell.
    /// </summary>
    private static (string File, List<string> Arguments, string Pwd)? DirectArguments(string command, List<string> prefix, Dictionary<string, string?> environment, string workingDirectory)
    {
        var words = new List<string>(4);
        if (!DirectCommand.TrySplit(command, words))
        {
            return null;
        }

        environment.TryGetValue("PATH", out var path);
        var program = DirectCommand.Resolve(words[0], path);
        var physical = ChildProcess.RealPath(workingDirectory);
        if (program is null || physical is null)
        {
            return null;
        }

        // The shell exports PWD: kept when it already names the working directory, its physical path otherwise.
        environment.TryGetValue(WorkingDirectoryVariable, out var pwd);
        if (pwd is null || !pwd.StartsWith('/') || ChildProcess.RealPath(pwd) != physical)
        {
            pwd = physical;
        }

        // argv[0] is the word as written, as the shell passes it; setpriv gets the path it found.
        var arguments = new List<string>(prefix.Count + words.Count);
        arguments.AddRange(prefix);
        arguments.Add(prefix.Count > 0 ? program : words[0]);
        for (var i = 1; i < words.Count; i++)
        {
            arguments.Add(words[i]);
        }

        return (prefix.Count > 0 ? prefix[0] : program, arguments, pwd);
    }

    private async Task<AttemptResult> SuperviseAsync(AttemptContext context, ChildProcess process, ProcessGroup group, CancellationToken cancellationToken)
    {
        var unit = context.Unit;
        using var drain = new CancellationTokenSource();
        var output = new ProcessOutputStream(process.Output, drain.Token);
        var stdinTask = WriteBodyAsync(context, process.Input, cancellationToken);
        var stderrTask = LogStderrAsync(context, process.Error, drain.Token);

        // The output is read even when the attempt is cancelled: killing the group ends it.
        var outputTask = ReadOutputAsync(context, output);

        int returnCode;
        using (var graceful = unit.GracefulTimeout is { } g ? _time.CreateTimer(ProcessGroup.OnGracefulTimeout, group, g, Timeout.InfiniteTimeSpan) : null)
        using (var timeout = unit.Timeout is { } t ? _time.CreateTimer(ProcessGroup.OnTimeout, group, t, Timeout.InfiniteTimeSpan) : null)
        using (cancellationToken.UnsafeRegister(ProcessGroup.OnCancelled, group))
        {
            var exited = process.Exited;
            var first = await Task.WhenAny(exited, outputTask).ConfigureAwait(false);
            if (first == outputTask && (outputTask.IsFaulted || !output.Ended.IsCompleted))
            {
                // The store failed, or the reader stopped before the end (malformed CGI headers):
                // nothing reads the output any more, so the attempt is over.
                group.Kill();
                await outputTask.ConfigureAwait(false);
            }

            returnCode = await exited.ConfigureAwait(false);
        }

        // The shell is gone; children and grandchildren go with it, then the output ends
        // (or its reader has already stopped reading it).
        group.Kill();
        try
        {
            await Task.WhenAll(Task.WhenAny(output.Ended, outputTask), stderrTask).WaitAsync(OutputGrace, _time, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ShellRunnerLog.OutputCutOff(Logger, context.RequestId, context.AttemptId);
            await drain.CancelAsync().ConfigureAwait(false);
        }

        var read = await outputTask.ConfigureAwait(false);
        await stderrTask.ConfigureAwait(false);
        await stdinTask.ConfigureAwait(false);
        return Complete(context, returnCode, cancellationToken.IsCancellationRequested, read);
    }

    /// <summary>Copies the saved body to stdin and closes it; a process that stops reading is not an error.</summary>
    private async Task WriteBodyAsync(AttemptContext context, Stream target, CancellationToken cancellationToken)
    {
        // An inline body is a few KiB at most: no need for the large copy buffer.
        var buffer = ArrayPool<byte>.Shared.Rent(context.Body.Key is null ? (int)Math.Max(1, context.Body.Length) : CopyBufferSize);
        try
        {
            var body = await context.Blobs.OpenReadAsync(context.Body, cancellationToken).ConfigureAwait(false);
            if (body is null)
            {
                ShellRunnerLog.BodyMissing(Logger, context.RequestId, context.AttemptId);
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
                await target.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Logs stderr line by line (lines longer than <see cref="MaxStderrLine"/> bytes are cut) and hands it whole to the attempt's kept tail.</summary>
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

                context.Stderr?.Write(chunk.AsSpan(0, read));
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
        ShellRunnerLog.Stderr(Logger, context.RequestId, context.AttemptId, cut ? text + "…" : text);
    }

    private void RemoveWorkFolder(AttemptContext context, string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            ShellRunnerLog.WorkFolderNotRemoved(Logger, context.RequestId, context.AttemptId, folder, exception);
        }
    }

    /// <summary>Fills the process environment; it starts as the server's own without its secrets (<see cref="CommandEnvironment"/>).</summary>
    protected abstract void SetEnvironment(IDictionary<string, string?> environment, AttemptContext context);

    /// <summary>Reads stdout to its end, or stops early (the process group is then killed); runs even when the attempt is cancelled.</summary>
    protected abstract Task<TOutput> ReadOutputAsync(AttemptContext context, Stream output);

    /// <summary>Turns the return code and what was read into the attempt's result.</summary>
    protected abstract AttemptResult Complete(AttemptContext context, int returnCode, bool cancelled, TOutput output);

    /// <summary>Logs and records why nothing could be started, and returns the 502 result of an attempt that never ran.</summary>
    private AttemptResult NotStartedResult(AttemptContext context, string reason)
    {
        ShellRunnerLog.StartFailed(Logger, context.RequestId, context.AttemptId, reason);
        context.ReportFailure("could not start the command: " + reason);
        return Failed(NotStarted);
    }

    /// <summary>A 502 result carrying <c>X-Return-Code</c>.</summary>
    protected static AttemptResult Failed(int returnCode) =>
        new(502, ReturnCodeHeaders(returnCode), BodyRef.Empty);

    /// <summary>The <c>X-Return-Code</c> header alone.</summary>
    protected static KeyValuePair<string, string>[] ReturnCodeHeaders(int returnCode) =>
        [new(ReturnCodeHeader, returnCode.ToString(CultureInfo.InvariantCulture))];
}
