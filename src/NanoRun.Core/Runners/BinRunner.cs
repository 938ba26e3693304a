using System.Globalization;
using Microsoft.Extensions.Logging;
using NanoRun.Storage;

namespace NanoRun.Runners;

/// <summary>
/// Runs a bin-mode attempt: <c>shell -c command</c> in its own process group, the saved body on stdin,
/// request headers as environment variables, stdout streamed into the result and stderr into the log.
/// </summary>
/// <remarks>
/// Exit 0 with output is 200, exit 0 without output is 204, anything else 502. Every result carries
/// <c>X-Return-Code</c> (see <see cref="ShellRunner{TOutput}"/>).
/// </remarks>
internal sealed class BinRunner : ShellRunner<BodyRef>
{
    public BinRunner(ILogger<BinRunner> logger, TimeProvider time, ProcessGroupLedger? ledger = null)
        : base(logger, time, ledger)
    {
    }

    protected override Task<BodyRef> ReadOutputAsync(AttemptContext context, Stream output) =>
        context.Blobs.WriteAsync(context.ResultKey, context.Observed(output), 0, CancellationToken.None);

    protected override AttemptResult Complete(AttemptContext context, int returnCode, bool cancelled, BodyRef output)
    {
        var code = returnCode != 0 || cancelled ? 502
            : output.Length > 0 ? 200
            : 204;
        ShellRunnerLog.Finished(Logger, context.RequestId, context.AttemptId, returnCode, code, output.Length);
        return new AttemptResult(code, ReturnCodeHeaders(returnCode), output);
    }

    /// <summary>
    /// Layers the environment: the server's own without its secrets (already in <paramref name="environment"/>), then
    /// the request headers that <see cref="HeaderVariables.BinVariable"/> lets through, then the attempt headers, then the
    /// unit's <c>environment</c>; a later layer wins, except that a header never replaces an inherited variable.
    /// </summary>
    protected override void SetEnvironment(IDictionary<string, string?> environment, AttemptContext context)
    {
        var headers = context.Headers;
        var fromHeaders = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);
        for (var i = 0; i < headers.Count; i++)
        {
            var name = HeaderVariables.BinVariable(headers[i].Key, context.Unit);
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
            if (!environment.ContainsKey(pair.Key))
            {
                environment[pair.Key] = pair.Value;
            }
        }

        environment["X_CORRELATION_ID"] = context.RequestId;
        environment["X_ATTEMPT_ID"] = context.AttemptId;
        environment["X_ATTEMPT"] = context.AttemptNumber.ToString(CultureInfo.InvariantCulture);
        HeaderVariables.SetTraceContext(environment, context, "TRACEPARENT", "TRACESTATE");
        foreach (var pair in context.Unit.Environment)
        {
            environment[pair.Key] = pair.Value;
        }
    }

}
