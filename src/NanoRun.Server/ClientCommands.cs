using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using NanoRun.Client;
using NanoRun.Units;

namespace NanoRun.Server;

/// <summary>
/// The shell client: <c>nano-run call|status|result|retry|cancel</c> against a running server's API. Server refusals
/// become one line on stderr and exit code 1; a <c>--wait</c> that runs out ends with exit code 2.
/// </summary>
internal static class ClientCommands
{
    private const int Refused = 1;
    private const int TimedOut = 2;
    private const long ProgressThreshold = 1024 * 1024;
    private static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(10);

    public static IEnumerable<Command> Create() => [Call(), Status(), Result(), Retry(), Cancel()];

    private static Command Call()
    {
        var common = new CommonOptions();
        var unit = UnitArgument();
        var data = new Option<string?>("--data", "-d") { Description = "the body: @FILE (streamed), - for stdin, or the text itself; default empty" };
        var header = new Option<string[]>("--header", "-H") { Description = "a header saved with the request, 'Name: value' (repeatable)" };
        var wait = new Option<string?>("--wait")
        {
            Description = "wait for the final outcome (at most DURATION, Go syntax such as 30s or 5m; default 10m) and write the result body",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var output = OutputOption();
        var command = new Command("call", "Send a request to a unit; prints its id, or with --wait the result body") { unit, data, header, wait, output };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            TimeSpan? limit = null;
            if (result.GetResult(wait) is not null)
            {
                var text = result.GetValue(wait);
                if (string.IsNullOrEmpty(text))
                {
                    limit = DefaultWait;
                }
                else if (GoDuration.TryParse(text, out var parsed) && parsed > TimeSpan.Zero)
                {
                    limit = parsed;
                }
                else
                {
                    return Task.FromResult(Fail($"--wait expects a duration such as 30s or 5m, not '{text}'"));
                }
            }

            var call = new CallArguments(result.GetValue(unit)!, result.GetValue(data), result.GetValue(header) ?? [], limit, result.GetValue(output));
            return RunAsync(common, result, call.Unit, client => CallAsync(client, call, cancellationToken));
        });
        return command;
    }

    private static Command Status()
    {
        var common = new CommonOptions();
        var (unit, id) = (UnitArgument(), IdArgument());
        var command = new Command("status", "Print a request's state, attempts and last status") { unit, id };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(common, result, result.GetValue(unit)!, async client =>
        {
            var record = await client.GetAsync(result.GetValue(unit)!, result.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"id: {record.Id}\n");
            text.Append(CultureInfo.InvariantCulture, $"state: {record.Outcome}\n");
            text.Append(CultureInfo.InvariantCulture, $"complete: {(record.Complete ? "yes" : "no")}\n");
            text.Append(CultureInfo.InvariantCulture, $"attempts: {record.Attempts.Count}\n");
            if (record.LastAttempt is { } last)
            {
                text.Append(CultureInfo.InvariantCulture, $"last status: {last.Code}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"created: {record.CreatedAt:O}\n");
            if (record.CompleteAt is { } completeAt)
            {
                text.Append(CultureInfo.InvariantCulture, $"completed: {completeAt:O}\n");
            }

            await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Result()
    {
        var common = new CommonOptions();
        var (unit, id, output) = (UnitArgument(), IdArgument(), OutputOption());
        var command = new Command("result", "Write a finished request's result body; exit 1 when it is not finished or failed") { unit, id, output };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(common, result, result.GetValue(unit)!, client =>
            WriteResultAsync(client, result.GetValue(unit)!, result.GetValue(id)!, result.GetValue(output), cancellationToken)));
        return command;
    }

    private static Command Retry()
    {
        var common = new CommonOptions();
        var (unit, id) = (UnitArgument(), IdArgument());
        var command = new Command("retry", "Queue a request again with its saved content; prints the new id") { unit, id };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(common, result, result.GetValue(unit)!, async client =>
        {
            var newId = await client.RetryAsync(result.GetValue(unit)!, result.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(newId).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Cancel()
    {
        var common = new CommonOptions();
        var (unit, id) = (UnitArgument(), IdArgument());
        var command = new Command("cancel", "Cancel a request: no further attempts, a running one is stopped") { unit, id };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(common, result, result.GetValue(unit)!, async client =>
        {
            try
            {
                await client.CancelAsync(result.GetValue(unit)!, result.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            }
            catch (NanoRunException e) when (e.Error == NanoRunError.Conflict)
            {
                return Fail($"request {result.GetValue(id)} is already finished; nothing was cancelled");
            }

            await Console.Error.WriteLineAsync($"nano-run: cancelled {result.GetValue(id)}").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static async Task<int> CallAsync(NanoRunClient client, CallArguments call, CancellationToken cancellationToken)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in call.Headers)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return Fail($"-H expects 'Name: value', not '{line}'");
            }

            headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        string id;
        var body = OpenBody(call.Data) ?? Stream.Null;
        await using (body.ConfigureAwait(false))
        {
            // A file goes out with its length (so an oversized body is refused at once), stdin chunked.
            long? length = body.CanSeek ? body.Length - body.Position : null;
            if (length is { } known)
            {
                headers.Add(new("Content-Length", known.ToString(CultureInfo.InvariantCulture)));
            }

            var sent = Progress.Wrap(body, "sent", length);
            id = await client.EnqueueAsync(call.Unit, sent, headers, cancellationToken).ConfigureAwait(false);
            Progress.Done(sent);
        }

        if (call.Wait is not { } limit)
        {
            await Console.Out.WriteLineAsync(id).ConfigureAwait(false);
            return 0;
        }

        try
        {
            await client.WaitAsync(call.Unit, id, limit, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await Console.Error.WriteLineAsync($"nano-run: request {id} of unit '{call.Unit}' is not finished after {GoDuration.Format(limit)}; see `nano-run status {call.Unit} {id}`").ConfigureAwait(false);
            return TimedOut;
        }

        return await WriteResultAsync(client, call.Unit, id, call.Output, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> WriteResultAsync(NanoRunClient client, string unit, string id, string? output, CancellationToken cancellationToken)
    {
        NanoRunResult result;
        try
        {
            result = await client.GetResultAsync(unit, id, cancellationToken).ConfigureAwait(false);
        }
        catch (NanoRunException e) when (e.Error == NanoRunError.NotFinished)
        {
            return Fail($"request {id} of unit '{unit}' is not finished yet");
        }
        catch (NanoRunException e) when (e.Error == NanoRunError.NotFound)
        {
            // GET of the record succeeded, so the request exists: it was cancelled before any attempt ran.
            return Fail($"request {id} of unit '{unit}' {(e.Message.Contains("before any attempt", StringComparison.Ordinal) ? "cancelled" : "not found")}");
        }

        await using (result.ConfigureAwait(false))
        {
            var record = result.Record;
            if (record.Outcome == "cancelled")
            {
                return Fail($"request {id} of unit '{unit}' cancelled (last status {result.StatusCode})");
            }

            if (!record.Succeeded)
            {
                return Fail($"request {id} of unit '{unit}' failed: {result.StatusCode} after {record.Attempts.Count} attempt(s)");
            }

            var target = output is null ? Console.OpenStandardOutput() : new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.Read, 1, FileOptions.Asynchronous);
            await using (target.ConfigureAwait(false))
            {
                var length = result.Attempt.ResultLength;
                var source = Progress.Wrap(result.Body, "received", length);
                await source.CopyToAsync(target, 64 * 1024, cancellationToken).ConfigureAwait(false);
                Progress.Done(source);
            }

            return 0;
        }
    }

    /// <summary>Builds the client, runs <paramref name="action"/>, and turns every expected failure into one line on stderr.</summary>
    private static async Task<int> RunAsync(CommonOptions common, ParseResult result, string unit, Func<NanoRunClient, Task<int>> action)
    {
        var server = result.GetValue(common.Server)!;
        var token = result.GetValue(common.Token);
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
        {
            return Fail($"--server expects an http(s) URL, not '{server}'");
        }

        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var client = new NanoRunClient(http, new NanoRunClientOptions { Token = token is { Length: > 0 } ? token : null });
        try
        {
            return await action(client).ConfigureAwait(false);
        }
        catch (NanoRunException e)
        {
            var code = (int)e.StatusCode;
            return e.Error switch
            {
                NanoRunError.Unauthorized or NanoRunError.Forbidden when token is { Length: > 0 } => Fail($"the server refused the token ({code}) for unit '{unit}'"),
                NanoRunError.Unauthorized or NanoRunError.Forbidden => Fail($"unit '{unit}' needs a token ({code}); pass --token or set NANO_RUN_TOKEN"),
                NanoRunError.NotFound => Fail($"unit '{unit}' or the request does not exist ({code})"),
                NanoRunError.Conflict => Fail(e.Message),
                NanoRunError.TooLarge => Fail($"unit '{unit}' refused the body as too large ({code}); see its max_request"),
                NanoRunError.Unavailable => Fail($"unit '{unit}' cannot take requests now ({code}: queue full, disk low or store unavailable); try again later"),
                _ => Fail(e.Message),
            };
        }
        catch (HttpRequestException e)
        {
            return Fail($"cannot reach {baseAddress}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(e.Message);
        }
    }

    private static Stream? OpenBody(string? data) => data switch
    {
        null => null,
        "-" => Console.OpenStandardInput(),
        ['@', .. var path] => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan),
        _ => new MemoryStream(Encoding.UTF8.GetBytes(data), writable: false),
    };

    private static int Fail(string message)
    {
        Console.Error.WriteLine("nano-run: " + message);
        return Refused;
    }

    private static Argument<string> UnitArgument() => new("UNIT") { Description = "the unit name (its /api/UNIT/ path)" };

    private static Argument<string> IdArgument() => new("ID") { Description = "the request id (X-Correlation-Id)" };

    private static Option<string?> OutputOption() => new("--output", "-o") { Description = "write the result body to FILE instead of stdout" };

    private sealed record CallArguments(string Unit, string? Data, string[] Headers, TimeSpan? Wait, string? Output);

    /// <summary><c>--server</c> and <c>--token</c>, one instance per command.</summary>
    private sealed class CommonOptions
    {
        public Option<string> Server { get; } = new("--server")
        {
            Description = "base URL of the server (env NANO_RUN_SERVER; default http://127.0.0.1:8989)",
            DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("NANO_RUN_SERVER") is { Length: > 0 } value ? value : "http://127.0.0.1:8989",
        };

        public Option<string?> Token { get; } = new("--token")
        {
            Description = "credential for units with authorization, sent as Bearer and X-Api-Token (env NANO_RUN_TOKEN)",
            DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("NANO_RUN_TOKEN"),
        };

        public void AddTo(Command command)
        {
            command.Options.Add(Server);
            command.Options.Add(Token);
        }
    }

    /// <summary>A forward-only pass-through read stream that shows a progress line on a terminal for bodies over 1 MiB.</summary>
    private sealed class Progress(Stream inner, string verb, long? total, bool visible) : Stream
    {
        private long _done;
        private long _shownAt;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _done;
            set => throw new NotSupportedException();
        }

        public static Progress Wrap(Stream inner, string verb, long? total) =>
            new(inner, verb, total, !Console.IsErrorRedirected && total > ProgressThreshold);

        public static void Done(Progress progress)
        {
            if (progress.Visible)
            {
                progress.Show(force: true);
                Console.Error.WriteLine();
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private bool Visible => visible;

        private int Count(int read)
        {
            _done += read;
            if (visible)
            {
                Show(force: false);
            }

            return read;
        }

        private void Show(bool force)
        {
            var now = Environment.TickCount64;
            if (!force && now - _shownAt < 250)
            {
                return;
            }

            _shownAt = now;
            const double MiB = 1024 * 1024;
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r{verb} {_done / MiB:F1} / {total / MiB:F1} MiB"));
        }
    }
}
