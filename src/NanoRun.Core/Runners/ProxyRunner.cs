using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Tracing;

namespace NanoRun.Runners;

/// <summary>
/// Runs a proxy-mode attempt: the saved request (method, headers without hop-by-hop ones, body streamed,
/// query string appended to the URL) goes to the unit's <c>command</c> URL with the attempt headers; the
/// upstream's status, headers and streamed body become the attempt.
/// </summary>
/// <remarks>
/// A refused connection, a name that does not resolve, a reset or the unit's <c>timeout</c> is a 502 attempt
/// with the reason in the log and in <c>X-Nano-Run-Error</c>, and the retry rules apply. Each unit has one
/// pooled <see cref="HttpClient"/>; redirects are not followed, cookies not kept, bodies never buffered.
/// </remarks>
internal sealed class ProxyRunner : IAttemptRunner, IDisposable
{
    private const string ErrorHeader = "X-Nano-Run-Error";
    private const int CopyBufferSize = 81920;

    // Pooled connections are renewed this often so a changed DNS answer is seen.
    private static readonly TimeSpan ConnectionLifetime = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);
    private readonly ILogger<ProxyRunner> _logger;
    private readonly TimeProvider _time;

    public ProxyRunner(ILogger<ProxyRunner> logger, TimeProvider time)
    {
        _logger = logger;
        _time = time;
    }

    public async Task<AttemptResult> RunAsync(AttemptContext context, CancellationToken cancellationToken)
    {
        var unit = context.Unit;
        var client = _clients.GetOrAdd(unit.Name, static _ => CreateClient());
        using var timeout = unit.Timeout is { } t ? new CancellationTokenSource(t, _time) : null;
        using var linked = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked?.Token ?? cancellationToken;
        UpstreamStream? upstream = null;
        try
        {
            using var request = await BuildRequestAsync(context, token).ConfigureAwait(false);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
            var headers = ResponseHeaders(response);
            upstream = new UpstreamStream(await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false));
            await using (upstream.ConfigureAwait(false))
            {
                var result = await context.Blobs.WriteAsync(context.ResultKey, context.Observed(upstream), 0, token).ConfigureAwait(false);
                var code = (int)response.StatusCode;
                ProxyRunnerLog.Finished(_logger, context.RequestId, context.AttemptId, code, result.Length);
                return new AttemptResult(code, headers, result);
            }
        }
        catch (OperationCanceledException) when (timeout?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
        {
            return Failed(context, "timeout after " + unit.Timeout!.Value.ToString("c", CultureInfo.InvariantCulture), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Failed(context, "cancelled", null);
        }
        catch (HttpRequestException exception)
        {
            return Failed(context, exception.Message, exception);
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException && upstream?.Failed == true)
        {
            return Failed(context, "upstream body: " + exception.Message, exception);
        }
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        _clients.Clear();
    }

    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = ConnectionLifetime,
            ConnectTimeout = ConnectTimeout,
            ActivityHeadersPropagator = null,
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private async Task<HttpRequestMessage> BuildRequestAsync(AttemptContext context, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(new HttpMethod(context.Method), TargetUrl(context.Unit.Command, context.Uri))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        try
        {
            if (context.Body.Length > 0 || !IsBodylessMethod(context.Method))
            {
                var body = await context.Blobs.OpenReadAsync(context.Body, cancellationToken).ConfigureAwait(false);
                if (body is null)
                {
                    ShellRunnerLog.BodyMissing(_logger, context.RequestId, context.AttemptId);
                }

                request.Content = new StreamContent(body ?? Stream.Null, CopyBufferSize);
                request.Content.Headers.ContentLength = body is null ? 0 : context.Body.Length;
            }

            var headers = context.Headers;
            string? connection = null;
            for (var i = 0; i < headers.Count; i++)
            {
                if (headers[i].Key.Equals("Connection", StringComparison.OrdinalIgnoreCase))
                {
                    connection = connection is null ? headers[i].Value : connection + "," + headers[i].Value;
                }
            }

            for (var i = 0; i < headers.Count; i++)
            {
                var (name, value) = (headers[i].Key, headers[i].Value);
                if (HeaderRules.IsHopByHop(name, connection) || IsAttemptHeader(name) || IsTraceHeader(name) || name.Equals("Host", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Expect", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (!request.Headers.TryAddWithoutValidation(name, value))
                {
                    request.Content?.Headers.TryAddWithoutValidation(name, value);
                }
            }

            request.Headers.TryAddWithoutValidation("X-Correlation-Id", context.RequestId);
            request.Headers.TryAddWithoutValidation("X-Attempt-Id", context.AttemptId);
            request.Headers.TryAddWithoutValidation("X-Attempt", context.AttemptNumber.ToString(CultureInfo.InvariantCulture));

            // The upstream continues the attempt's trace, not the client's span.
            if (context.TraceParent is { } traceParent)
            {
                request.Headers.TryAddWithoutValidation(RequestTracing.ParentHeader, traceParent);
                if (context.TraceState is { Length: > 0 } traceState)
                {
                    request.Headers.TryAddWithoutValidation(RequestTracing.StateHeader, traceState);
                }
            }

            return request;
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    /// <summary>The unit's URL with the saved request's query string appended.</summary>
    internal static Uri TargetUrl(string command, string savedUri)
    {
        var question = savedUri.IndexOf('?', StringComparison.Ordinal);
        if (question < 0 || question == savedUri.Length - 1)
        {
            return new Uri(command);
        }

        var query = savedUri[(question + 1)..];
        var hash = command.IndexOf('#', StringComparison.Ordinal);
        var target = hash < 0 ? command : command[..hash];
        return new Uri(target + (target.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query);
    }

    /// <summary>The upstream's headers without hop-by-hop ones, and without values a response could not carry again (non-ASCII, control bytes).</summary>
    private static List<KeyValuePair<string, string>> ResponseHeaders(HttpResponseMessage response)
    {
        string? connection = null;
        if (response.Headers.NonValidated.TryGetValues("Connection", out var connectionValues))
        {
            foreach (var value in connectionValues)
            {
                connection = connection is null ? value : connection + "," + value;
            }
        }

        var headers = new List<KeyValuePair<string, string>>();
        Add(headers, response.Headers.NonValidated, connection);
        Add(headers, response.Content.Headers.NonValidated, connection);
        return headers;

        static void Add(List<KeyValuePair<string, string>> to, HttpHeadersNonValidated from, string? connection)
        {
            foreach (var header in from)
            {
                if (HeaderRules.IsHopByHop(header.Key, connection))
                {
                    continue;
                }

                foreach (var value in header.Value)
                {
                    if (IsPlainAscii(value))
                    {
                        to.Add(new(header.Key, value));
                    }
                }
            }
        }
    }

    private static bool IsPlainAscii(string value)
    {
        foreach (var c in value)
        {
            if ((c < ' ' && c != '\t') || c > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsTraceHeader(string name) =>
        name.Equals(RequestTracing.ParentHeader, StringComparison.OrdinalIgnoreCase)
        || name.Equals(RequestTracing.StateHeader, StringComparison.OrdinalIgnoreCase);

    private static bool IsAttemptHeader(string name) =>
        name.Equals("X-Correlation-Id", StringComparison.OrdinalIgnoreCase)
        || name.Equals("X-Attempt-Id", StringComparison.OrdinalIgnoreCase)
        || name.Equals("X-Attempt", StringComparison.OrdinalIgnoreCase);

    private static bool IsBodylessMethod(string method) =>
        method is "GET" or "HEAD" or "DELETE" or "OPTIONS" or "TRACE";

    private AttemptResult Failed(AttemptContext context, string reason, Exception? exception)
    {
        ProxyRunnerLog.Failed(_logger, context.RequestId, context.AttemptId, context.Unit.Command, reason, exception);
        context.ReportFailure("the upstream request failed: " + reason);
        var text = IsPlainAscii(reason) ? reason : "upstream request failed";
        return new AttemptResult(502, [new(ErrorHeader, "proxy: " + text)], BodyRef.Empty);
    }

    /// <summary>The upstream's body; remembers whether reading it failed, which makes the attempt a 502 rather than a store error.</summary>
    private sealed class UpstreamStream(Stream inner) : ReadOnlyStream
    {
        public bool Failed { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Failed = true;
                throw;
            }
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            try
            {
                return inner.Read(buffer, offset, count);
            }
            catch
            {
                Failed = true;
                throw;
            }
        }


        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
