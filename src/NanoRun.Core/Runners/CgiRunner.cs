using System.Globalization;
using Microsoft.Extensions.Logging;
using NanoRun.Storage;

namespace NanoRun.Runners;

/// <summary>
/// Runs a cgi-mode attempt as a CGI/1.1 script (RFC 3875): <c>shell -c command</c> with the same process
/// group, user, timeout and workdir rules as bin mode, the request as meta-variables, the body on stdin;
/// the response's header block gives the attempt's status and headers, the rest is streamed into the result.
/// </summary>
/// <remarks>
/// Output that is not a CGI response (see <see cref="CgiResponseHead"/>) is a 502 attempt with the reason in the
/// log and in <c>X-Nano-Run-Error</c>. A script that exits non-zero or is killed is a 502 attempt as well, whatever
/// it wrote, because its document may be cut short. Every result carries <c>X-Return-Code</c>.
/// </remarks>
internal sealed class CgiRunner : ShellRunner<CgiRunner.Output>
{
    private const string ErrorHeader = "X-Nano-Run-Error";

    private static readonly string ServerSoftware =
        "nano-run/" + (typeof(CgiRunner).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    public CgiRunner(ILogger<CgiRunner> logger, TimeProvider time, ProcessGroupLedger? ledger = null)
        : base(logger, time, ledger)
    {
    }

    protected override async Task<Output> ReadOutputAsync(AttemptContext context, Stream output)
    {
        var head = await CgiResponseHead.ReadAsync(output, CancellationToken.None).ConfigureAwait(false);
        if (head.Body is null)
        {
            return new Output(head, BodyRef.Empty);
        }

        await using (head.Body.ConfigureAwait(false))
        {
            var result = await context.Blobs.WriteAsync(context.ResultKey, context.Observed(head.Body), 0, CancellationToken.None).ConfigureAwait(false);
            return new Output(head, result);
        }
    }

    protected override AttemptResult Complete(AttemptContext context, int returnCode, bool cancelled, Output output)
    {
        var head = output.Head;
        if (cancelled)
        {
            return Failed(context, returnCode, output.Result);
        }

        if (head.Error is { } error)
        {
            // A reader that stops early has the group killed, so the return code says little here.
            CgiRunnerLog.Malformed(Logger, context.RequestId, context.AttemptId, error);
            context.ReportFailure("malformed CGI response: " + error);
            KeyValuePair<string, string>[] headers =
                [new(ErrorHeader, "malformed CGI response: " + error), .. ReturnCodeHeaders(returnCode)];
            return new AttemptResult(502, headers, BodyRef.Empty);
        }

        if (returnCode != 0)
        {
            return Failed(context, returnCode, output.Result);
        }

        var all = new List<KeyValuePair<string, string>>(head.Headers.Count + 1);
        all.AddRange(head.Headers);
        all.AddRange(ReturnCodeHeaders(returnCode));
        ShellRunnerLog.Finished(Logger, context.RequestId, context.AttemptId, returnCode, head.Status, output.Result.Length);
        return new AttemptResult(head.Status, all, output.Result);
    }

    private AttemptResult Failed(AttemptContext context, int returnCode, BodyRef result)
    {
        ShellRunnerLog.Finished(Logger, context.RequestId, context.AttemptId, returnCode, 502, result.Length);
        return new AttemptResult(502, ReturnCodeHeaders(returnCode), result);
    }

    /// <summary>
    /// Layers the environment: the server's own without its secrets, then <c>HTTP_*</c> for each request header (never
    /// replacing an inherited variable), then the meta-variables, the attempt headers and the unit's <c>environment</c>.
    /// </summary>
    /// <remarks>
    /// <c>Content-Type</c> and <c>Content-Length</c> become <c>CONTENT_TYPE</c> and <c>CONTENT_LENGTH</c> only;
    /// a <c>Proxy</c> header never becomes <c>HTTP_PROXY</c>, which many HTTP clients read as their proxy, nor does any
    /// other header give a name that <see cref="HeaderVariables.IsBlocked"/> refuses.
    /// </remarks>
    protected override void SetEnvironment(IDictionary<string, string?> environment, AttemptContext context)
    {
        var headers = context.Headers;
        var fromHeaders = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);
        string? contentType = null;
        string? host = null;
        for (var i = 0; i < headers.Count; i++)
        {
            var (key, value) = (headers[i].Key, headers[i].Value);
            if (key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType ??= value;
                continue;
            }

            if (key.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                host ??= value;
            }

            var name = HeaderVariables.CgiVariable(key);
            if (name is null or "HTTP_CONTENT_LENGTH")
            {
                continue;
            }

            fromHeaders[name] = fromHeaders.TryGetValue(name, out var earlier) ? earlier + ", " + value : value;
        }

        foreach (var pair in fromHeaders)
        {
            if (!environment.ContainsKey(pair.Key))
            {
                environment[pair.Key] = pair.Value;
            }
        }

        var (serverName, serverPort) = SplitHost(host);
        var (path, query) = SplitUri(context.Uri);
        var (scriptName, pathInfo) = SplitPath(path, context.Unit.Name);
        environment["GATEWAY_INTERFACE"] = "CGI/1.1";
        environment["SERVER_PROTOCOL"] = "HTTP/1.1";
        environment["SERVER_SOFTWARE"] = ServerSoftware;
        environment["SERVER_NAME"] = serverName;
        environment["SERVER_PORT"] = serverPort;
        environment["REQUEST_METHOD"] = context.Method;
        environment["REQUEST_URI"] = context.Uri;
        environment["SCRIPT_NAME"] = scriptName;
        environment["PATH_INFO"] = pathInfo;
        environment["QUERY_STRING"] = query;
        SetOrRemove(environment, "CONTENT_TYPE", contentType);
        SetOrRemove(environment, "CONTENT_LENGTH", context.Body.Length > 0 ? context.Body.Length.ToString(CultureInfo.InvariantCulture) : null);
        environment["REMOTE_ADDR"] = context.RemoteAddress ?? string.Empty;
        environment["REMOTE_HOST"] = context.RemoteAddress ?? string.Empty;
        environment["HTTP_X_CORRELATION_ID"] = context.RequestId;
        environment["HTTP_X_ATTEMPT_ID"] = context.AttemptId;
        environment["HTTP_X_ATTEMPT"] = context.AttemptNumber.ToString(CultureInfo.InvariantCulture);
        HeaderVariables.SetTraceContext(environment, context, "TRACEPARENT", "TRACESTATE");
        HeaderVariables.SetTraceContext(environment, context, "HTTP_TRACEPARENT", "HTTP_TRACESTATE");
        foreach (var pair in context.Unit.Environment)
        {
            environment[pair.Key] = pair.Value;
        }
    }

    private static void SetOrRemove(IDictionary<string, string?> environment, string name, string? value)
    {
        if (value is null)
        {
            environment.Remove(name);
        }
        else
        {
            environment[name] = value;
        }
    }

    /// <summary>Server name and port from a <c>Host</c> header (<c>name</c>, <c>name:port</c>, <c>[v6]:port</c>); <c>localhost</c> and 80 when absent.</summary>
    internal static (string Name, string Port) SplitHost(string? host)
    {
        if (string.IsNullOrWhiteSpace(host))
        {
            return ("localhost", "80");
        }

        host = host.Trim();
        var colon = host.LastIndexOf(':');
        var bracket = host.LastIndexOf(']');
        if (colon < 0 || colon < bracket)
        {
            return (host, "80");
        }

        var port = host[(colon + 1)..];
        foreach (var c in port)
        {
            if (!char.IsAsciiDigit(c))
            {
                return (host, "80");
            }
        }

        return (host[..colon], port.Length > 0 ? port : "80");
    }

    /// <summary>Path and query string (without <c>?</c>, empty when none) of a request URI.</summary>
    internal static (string Path, string Query) SplitUri(string uri)
    {
        var question = uri.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? (uri, string.Empty) : (uri[..question], uri[(question + 1)..]);
    }

    /// <summary>
    /// <c>SCRIPT_NAME</c> is the path up to and including the unit's segment (<c>/api/unit</c>); <c>PATH_INFO</c>
    /// is the decoded rest (<c>/</c> for <c>/api/unit/</c>). A path without the unit's segment is all <c>PATH_INFO</c>.
    /// </summary>
    internal static (string ScriptName, string PathInfo) SplitPath(string path, string unit)
    {
        var segment = "/" + unit;
        var at = path.IndexOf(segment + "/", StringComparison.Ordinal);
        if (at < 0 && path.EndsWith(segment, StringComparison.Ordinal))
        {
            at = path.Length - segment.Length;
        }

        if (at < 0)
        {
            return (string.Empty, Uri.UnescapeDataString(path));
        }

        var end = at + segment.Length;
        return (path[..end], Uri.UnescapeDataString(path[end..]));
    }

    /// <summary>What was read from a script's stdout: its header block and the stored rest.</summary>
    /// <param name="Head">The parsed header block, or its error.</param>
    /// <param name="Result">The stored body after the header block; empty when the output was malformed.</param>
    internal sealed record Output(CgiResponseHead Head, BodyRef Result);
}
