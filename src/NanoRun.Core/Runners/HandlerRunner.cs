using System.Globalization;
using System.IO.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NanoRun.Jobs;
using NanoRun.Storage;

namespace NanoRun.Runners;

/// <summary>
/// Runs an attempt of an in-process unit: the unit's C# handler gets the saved request and a fresh DI scope, and
/// what it writes streams through a bounded pipe into the result store while it runs.
/// </summary>
/// <remarks>
/// An exception from the handler is a 500 attempt (retried like a crashed script), the unit's timeout or a
/// cancellation is a 502 attempt; both carry the reason in <c>X-Nano-Run-Error</c>. A failing result store is
/// broken infrastructure and propagates.
/// </remarks>
internal sealed partial class HandlerRunner : IAttemptRunner
{
    private const string ErrorHeader = "X-Nano-Run-Error";

    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger<HandlerRunner> _logger;
    private readonly TimeProvider _time;

    public HandlerRunner(IServiceScopeFactory scopes, ILogger<HandlerRunner> logger, TimeProvider time)
    {
        _scopes = scopes;
        _logger = logger;
        _time = time;
    }

    public async Task<AttemptResult> RunAsync(AttemptContext context, CancellationToken cancellationToken)
    {
        var unit = context.Unit;
        if (unit.Handler is not { } handler)
        {
            return new AttemptResult(500, [new(ErrorHeader, "handler: the unit has no handler")], BodyRef.Empty);
        }

        using var timeout = unit.Timeout is { } t ? new CancellationTokenSource(t, _time) : null;
        using var linked = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked?.Token ?? cancellationToken;

        var body = await context.Blobs.OpenReadAsync(context.Body, token).ConfigureAwait(false);
        if (body is null)
        {
            ShellRunnerLog.BodyMissing(_logger, context.RequestId, context.AttemptId);
        }

        await using var requestBody = (body ?? Stream.Null).ConfigureAwait(false);
        var scope = _scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            // The pipe pauses the handler's writes while the store is behind, so memory stays bounded whatever it writes.
            var pipe = new Pipe(new PipeOptions(useSynchronizationContext: false));
            var store = context.Blobs.WriteAsync(context.ResultKey, pipe.Reader.AsStream(), 0, CancellationToken.None);
            var output = pipe.Writer.AsStream(leaveOpen: true);
            var job = new JobContext(
                unit.Name, context.RequestId, context.AttemptId, context.AttemptNumber, context.Method, context.Uri,
                WithAttemptHeaders(context), body ?? Stream.Null, output, scope.ServiceProvider)
            {
                Principal = context.Principal,
            };
            string? error = null;
            var failedCode = 0;
            try
            {
                await handler(job, token).ConfigureAwait(false);
                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
            {
                (failedCode, error) = (502, "timeout after " + unit.Timeout!.Value.ToString("c", CultureInfo.InvariantCulture));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                (failedCode, error) = (502, "cancelled");
            }
            catch (Exception exception) when (!store.IsFaulted)
            {
                (failedCode, error) = (500, exception.GetType().Name + ": " + exception.Message);
                LogHandlerFailed(_logger, unit.Name, context.RequestId, context.AttemptId, exception);
            }
            finally
            {
                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
            }

            var result = await store.ConfigureAwait(false);
            var headers = ValidHeaders(job.CollectedHeaders);
            int code;
            if (error is not null)
            {
                code = failedCode;
                headers.Add(new(ErrorHeader, "handler: " + Printable(error)));
                context.ReportFailure("the handler failed: " + error);
            }
            else if (job.StatusCode is { } status and (< 100 or > 599))
            {
                code = 500;
                headers.Add(new(ErrorHeader, "handler: status " + status.ToString(CultureInfo.InvariantCulture) + " is not an HTTP status"));
            }
            else
            {
                code = job.StatusCode ?? (result.Length > 0 ? 200 : 204);
            }

            LogFinished(_logger, unit.Name, context.RequestId, context.AttemptId, code, result.Length);
            return new AttemptResult(code, headers, result);
        }
    }

    private static List<KeyValuePair<string, string>> WithAttemptHeaders(AttemptContext context)
    {
        var headers = new List<KeyValuePair<string, string>>(context.Headers.Count + 3);
        headers.AddRange(context.Headers);
        headers.Add(new("X-Correlation-Id", context.RequestId));
        headers.Add(new("X-Attempt-Id", context.AttemptId));
        headers.Add(new("X-Attempt", context.AttemptNumber.ToString(CultureInfo.InvariantCulture)));
        return headers;
    }

    /// <summary>The handler's headers that a response can carry again: a token name and a printable ASCII value.</summary>
    private static List<KeyValuePair<string, string>> ValidHeaders(List<KeyValuePair<string, string>> from)
    {
        var headers = new List<KeyValuePair<string, string>>(from.Count + 1);
        foreach (var pair in from)
        {
            if (pair.Key.Length > 0 && IsToken(pair.Key) && pair.Value is not null && Printable(pair.Value) == pair.Value)
            {
                headers.Add(pair);
            }
        }

        return headers;
    }

    private static bool IsToken(string name)
    {
        foreach (var c in name)
        {
            if (c <= ' ' || c > '~' || c is ':' or '(' or ')' or ',' or '/' or ';' or '<' or '=' or '>' or '?' or '@' or '[' or '\\' or ']' or '{' or '}' or '"')
            {
                return false;
            }
        }

        return true;
    }

    private static string Printable(string text)
    {
        foreach (var c in text)
        {
            if (c < ' ' || c > '~')
            {
                return string.Create(text.Length, text, static (span, source) =>
                {
                    for (var i = 0; i < source.Length; i++)
                    {
                        span[i] = source[i] is < ' ' or > '~' ? '?' : source[i];
                    }
                });
            }
        }

        return text;
    }

    [LoggerMessage(EventId = 3500, Level = LogLevel.Warning, Message = "Unit {Unit} {RequestId}/{AttemptId}: handler threw, attempt is 500")]
    private static partial void LogHandlerFailed(ILogger logger, string unit, string requestId, string attemptId, Exception exception);

    [LoggerMessage(EventId = 3501, Level = LogLevel.Debug, Message = "Unit {Unit} {RequestId}/{AttemptId}: handler answered {Code} with {Length} bytes")]
    private static partial void LogFinished(ILogger logger, string unit, string requestId, string attemptId, int code, long length);
}
