using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using NanoRun.Maintenance;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Tracing;
using NanoRun.Units;

namespace NanoRun.Callbacks;

/// <summary>Timing and reach of completion callback delivery; bound and checked at start like the other options.</summary>
public sealed class CallbackOptions
{
    /// <summary>Most delivery tries per callback; default 8.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>Pause after the first failed try, doubled after each further one; default 1 second.</summary>
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest pause between tries; default 10 minutes.</summary>
    public TimeSpan MaxRetry { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long one try may take, connection and body included; default 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Callbacks claimed per round; default 16.</summary>
    public int Batch { get; set; } = 16;

    /// <summary>Networks a caller's <c>X-Callback-Url</c> may reach although they are internal (loopback, private, …); default none.</summary>
    public IReadOnlyList<System.Net.IPNetwork> AllowNetworks { get; set; } = [];
}

/// <summary>
/// Delivers completion callbacks: claims pending callbacks of final requests from the store, posts the final attempt's
/// status, headers and body (streamed from the blob store) to the callback URL, and records the outcome, retrying failed
/// tries with exponential backoff up to a bounded count. The state lives in the store, so delivery survives restarts.
/// </summary>
internal sealed partial class CallbackDispatcher : BackgroundRole
{
    /// <summary>
    /// Header with <c>v1=HEX</c>: HMAC-SHA256, keyed with <see cref="SigningKey"/>, of <see cref="SignedPrefix"/> followed by
    /// the body. The signed text names its purpose, the unit and the target URL, so a signature made for one callback is
    /// not valid for another purpose (such as an inbound <c>hmac</c> unit sharing the secret), unit or receiver.
    /// </summary>
    public const string SignatureHeader = "X-Nano-Run-Signature";

    /// <summary>Header with the signing time in Unix seconds; it is part of the signed text, so a receiver can refuse old deliveries.</summary>
    public const string TimestampHeader = "X-Nano-Run-Timestamp";

    /// <summary>The purpose and version of the callback signature; the signing key and the signed text both start from it.</summary>
    internal const string SignaturePurpose = "nano-run-callback:v1";

    private const int CopyBufferSize = 64 * 1024;

    private readonly NanoRunEngine _engine;
    private readonly CallbackOptions _options;
    private readonly EngineOptions _engineOptions;
    private readonly TimeProvider _time;
    private readonly ILogger<CallbackDispatcher> _logger;
    private HttpClient? _client;

    // Only for URLs a caller chose: every connection is checked against the address policy after DNS, and no proxy is used.
    private HttpClient? _callerClient;

    public CallbackDispatcher(NanoRunEngine engine, CallbackOptions options, EngineOptions engineOptions, TimeProvider time, ILogger<CallbackDispatcher> logger)
        : base(time)
    {
        _engine = engine;
        _options = options;
        _engineOptions = engineOptions;
        _time = time;
        _logger = logger;
    }

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        // Without a unit that can ask for callbacks there is nothing to deliver, and no loop runs.
        if (_engine.Store is not ICallbackStore store || !AnyUnitHasCallbacks())
        {
            return Task.CompletedTask;
        }

        _client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ActivityHeadersPropagator = null,
        })
        { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        var filter = new CallbackAddressFilter(_options.AllowNetworks);
        _callerClient = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ActivityHeadersPropagator = null,
            ConnectCallback = (context, cancellationToken) => filter.ConnectAsync(context.DnsEndPoint, cancellationToken),
        })
        { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        Run(stop => RepeatAsync(pass => DeliverDueAsync(store, pass), e => LogDeliveryLoopError(_logger, e), Maintenance.Backoff.Default, stop));
        return Task.CompletedTask;
    }

    protected override Task OnStoppedAsync()
    {
        _client?.Dispose();
        _callerClient?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Delay before try <paramref name="attempt"/> + 1 after <paramref name="attempt"/> failed tries.</summary>
    internal static TimeSpan Backoff(CallbackOptions options, int attempt)
    {
        var ticks = options.FirstRetry.Ticks * Math.Pow(2, Math.Max(0, attempt - 1));
        return ticks >= options.MaxRetry.Ticks ? options.MaxRetry : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>The value of <see cref="SignatureHeader"/> once the whole body has been fed to <paramref name="hash"/>.</summary>
    internal static string Signature(IncrementalHash hash) => "v1=" + Convert.ToHexStringLower(hash.GetHashAndReset());

    /// <summary>The callback signing key: HMAC-SHA256 of <see cref="SignaturePurpose"/> with the unit's callback secret.</summary>
    internal static byte[] SigningKey(string secret) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(SignaturePurpose));

    /// <summary>What is signed before the body: purpose, time, unit and URL, each followed by a line feed.</summary>
    internal static byte[] SignedPrefix(string timestamp, string unit, Uri url) =>
        Encoding.UTF8.GetBytes(SignaturePurpose + "\n" + timestamp + "\n" + unit + "\n" + url.AbsoluteUri + "\n");

    private bool AnyUnitHasCallbacks()
    {
        foreach (var unit in _engine.Units.All)
        {
            if (unit.Callback is not null || unit.AllowCallbackUrl)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Delivers the callbacks due now; when fewer than a batch were due, waits a poll interval.</summary>
    private async Task DeliverDueAsync(ICallbackStore store, CancellationToken stop)
    {
        var now = _time.GetUtcNow();
        var due = await store.ClaimCallbacksAsync(new CallbackClaim(_options.Batch, now, now + _options.Timeout + _options.Timeout), stop).ConfigureAwait(false);
        foreach (var callback in due)
        {
            await DeliverAsync(store, callback, stop).ConfigureAwait(false);
        }

        if (due.Count < _options.Batch)
        {
            await Task.Delay(_engineOptions.PollInterval, _time, stop).ConfigureAwait(false);
        }
    }

    private async Task DeliverAsync(ICallbackStore store, DueCallback callback, CancellationToken stop)
    {
        var record = await _engine.Store.GetAsync(callback.RequestId, stop).ConfigureAwait(false);
        var unit = _engine.Units.Find(callback.Unit);
        var fromCaller = false;
        var url = record is null || unit is null ? null : CallbackTarget.For(unit, SavedHeaders.Split(record.Headers, out _), out fromCaller);
        var now = _time.GetUtcNow();
        if (record is null || unit is null || url is null || !Wanted(unit, record.State))
        {
            await store.RecordCallbackAsync(new CallbackDelivery(callback.RequestId, CallbackState.Skipped, callback.Attempts, null, null, now), stop).ConfigureAwait(false);
            return;
        }

        var attempt = callback.Attempts + 1;
        int? status = null;
        string? error = null;
        var span = RequestTracing.StartCallback(unit.Name, record.Id, attempt, _engineOptions.NodeName, record.Headers);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            timeout.CancelAfter(_options.Timeout);
            try
            {
                var trace = RequestTracing.Outgoing(span, record.Headers);
                status = await PostAsync(fromCaller ? _callerClient! : _client!, unit, record, url, trace, timeout.Token).ConfigureAwait(false);
                error = status is >= 200 and < 300 ? null : "receiver answered " + status.Value.ToString(CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !stop.IsCancellationRequested))
            {
                // The stored error is what any caller of the unit may read: never the address, port or socket error.
                var refused = IsRefused(e);
                error = e is OperationCanceledException ? "timed out" : refused ? "callback target refused by policy" : "callback delivery failed";
                LogDeliveryError(_logger, callback.RequestId, refused, e);
            }
            finally
            {
                RequestTracing.EndCallback(span, error ?? "delivered", status);
            }
        }

        var state = error is null ? CallbackState.Delivered
            : attempt >= _options.MaxAttempts ? CallbackState.Failed
            : CallbackState.Pending;
        var next = state == CallbackState.Pending ? _time.GetUtcNow() + Backoff(_options, attempt) : _time.GetUtcNow();
        await store.RecordCallbackAsync(new CallbackDelivery(callback.RequestId, state, attempt, status, error, next), stop).ConfigureAwait(false);
        LogDelivered(_logger, callback.RequestId, url.GetLeftPart(UriPartial.Path), attempt, state, status ?? 0);
    }

    private static bool IsRefused(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is CallbackRefusedException)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Wanted(UnitDefinition unit, RequestState state)
    {
        var on = unit.Callback?.On ?? new CallbackSettings().On;
        return state switch
        {
            RequestState.Succeeded => on.HasFlag(CallbackOutcomes.Success),
            RequestState.Failed => on.HasFlag(CallbackOutcomes.Failure),
            RequestState.Cancelled => on.HasFlag(CallbackOutcomes.Cancelled),
            _ => false,
        };
    }

    /// <summary>Posts the final attempt; returns the receiver's status code.</summary>
    private async Task<int> PostAsync(HttpClient client, UnitDefinition unit, RequestRecord record, Uri url, (string? Parent, string? State) trace, CancellationToken cancellationToken)
    {
        var final = record.Attempts.Count > 0 ? record.Attempts[^1] : null;
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        var body = final is null ? null : await _engine.Blobs.OpenReadAsync(final.Result, cancellationToken).ConfigureAwait(false);
        try
        {
            if (unit.Callback?.Secret is { } secret)
            {
                // The signature goes in a header, before the body: one pass computes it, a second one sends the body.
                var timestamp = _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                using var hash = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, SigningKey(secret));
                hash.AppendData(SignedPrefix(timestamp, record.Unit, url));
                if (body is not null && final is not null)
                {
                    await HashAsync(body, hash, cancellationToken).ConfigureAwait(false);
                    await body.DisposeAsync().ConfigureAwait(false);
                    body = null;
                    body = await _engine.Blobs.OpenReadAsync(final.Result, cancellationToken).ConfigureAwait(false);
                }

                request.Headers.TryAddWithoutValidation(TimestampHeader, timestamp);
                request.Headers.TryAddWithoutValidation(SignatureHeader, Signature(hash));
            }

            // The request message owns the body from here and disposes it.
            request.Content = body is null ? new ByteArrayContent([]) : new StreamContent(body, CopyBufferSize);
            body = null;
        }
        finally
        {
            if (body is not null)
            {
                await body.DisposeAsync().ConfigureAwait(false);
            }
        }

        request.Content.Headers.ContentLength = final?.Result.Length ?? 0;
        if (final is not null)
        {
            foreach (var pair in final.Headers)
            {
                if (HeaderRules.IsFraming(pair.Key) || SavedHeaders.IsReserved(pair.Key))
                {
                    continue;
                }

                if (!request.Headers.TryAddWithoutValidation(pair.Key, pair.Value))
                {
                    request.Content.Headers.TryAddWithoutValidation(pair.Key, pair.Value);
                }
            }

            request.Headers.TryAddWithoutValidation("X-Attempt-Id", final.Id);
            request.Headers.TryAddWithoutValidation("X-Nano-Run-Status", final.Code.ToString(CultureInfo.InvariantCulture));
        }

        request.Headers.TryAddWithoutValidation("X-Correlation-Id", record.Id);
        request.Headers.TryAddWithoutValidation("X-Nano-Run-Unit", record.Unit);
        request.Headers.TryAddWithoutValidation("X-Nano-Run-Outcome", record.State.ToWire());
        request.Headers.TryAddWithoutValidation("X-Nano-Run-Attempts", record.Attempts.Count.ToString(CultureInfo.InvariantCulture));
        if (trace.Parent is not null)
        {
            // The receiver continues the request's trace; a traceparent among the final attempt's headers is not passed on.
            request.Headers.Remove(RequestTracing.ParentHeader);
            request.Headers.Remove(RequestTracing.StateHeader);
            request.Headers.TryAddWithoutValidation(RequestTracing.ParentHeader, trace.Parent);
            if (trace.State is { Length: > 0 } state)
            {
                request.Headers.TryAddWithoutValidation(RequestTracing.StateHeader, state);
            }
        }
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        return (int)response.StatusCode;
    }

    private static async Task HashAsync(Stream body, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [LoggerMessage(EventId = 3400, Level = LogLevel.Error, Message = "Callback delivery loop failed; backing off")]
    private static partial void LogDeliveryLoopError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Request {RequestId}: callback try failed (refused by address policy: {Refused})")]
    private static partial void LogDeliveryError(ILogger logger, string requestId, bool refused, Exception exception);

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Request {RequestId}: callback to {Url} try {Attempt} is {State} (status {Status})")]
    private static partial void LogDelivered(ILogger logger, string requestId, string url, int attempt, CallbackState state, int status);
}
