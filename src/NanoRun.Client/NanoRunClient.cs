using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace NanoRun.Client;

/// <summary>
/// A typed client of a Nano-Run server's <c>/api/{unit}/</c>: bodies are streamed both ways, never buffered.
/// Give it an <see cref="HttpClient"/> whose base address is the server's root (register one with
/// <c>AddNanoRunClient</c>); an infinite <see cref="HttpClient.Timeout"/> suits large bodies. A plain <c>new HttpClient()</c>
/// works too: its handler follows the server's 303 and drops <c>Authorization</c> on the way, and the client then reads the id
/// from the address it was sent to instead of failing with the 401 of the followed call.
/// </summary>
public sealed class NanoRunClient
{
    private readonly HttpClient _http;
    private readonly NanoRunClientOptions _options;
    private readonly string _api;

    /// <summary>Creates a client over <paramref name="http"/> with default options.</summary>
    public NanoRunClient(HttpClient http)
        : this(http, new NanoRunClientOptions())
    {
    }

    /// <summary>Creates a client over <paramref name="http"/>.</summary>
    public NanoRunClient(HttpClient http, NanoRunClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        var path = options.ApiPath.Trim('/');
        _api = path.Length == 0 ? string.Empty : path + "/";
    }

    /// <summary>Saves a request for <paramref name="unit"/> and returns its id once the server has stored it durably.</summary>
    /// <param name="unit">The unit name.</param>
    /// <param name="body">The body, streamed (a seekable stream also sends its length); <c>null</c> for none.</param>
    /// <param name="headers">Headers saved with the request, such as <c>Content-Type</c>; default none.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <exception cref="NanoRunException">The server refused the request (401, 403, 404, 413, 503, 507).</exception>
    public async Task<string> EnqueueAsync(string unit, Stream? body, IEnumerable<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        using var request = new HttpRequestMessage(HttpMethod.Post, UnitPath(unit));
        request.Content = new StreamContent(body ?? Stream.Null, 64 * 1024);
        if (body is null)
        {
            request.Content.Headers.ContentLength = 0;
        }

        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                if (!request.Headers.TryAddWithoutValidation(name, value))
                {
                    request.Content.Headers.TryAddWithoutValidation(name, value);
                }
            }
        }

        return await SendForIdAsync(request, unit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns the request's record.</summary>
    /// <exception cref="NanoRunException">Unknown unit or request (404), or refused credentials (401, 403).</exception>
    public async Task<NanoRunRecord> GetAsync(string unit, string id, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, RequestPath(unit, id));
        using var response = await SendAsync(request, unit, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ClientJsonContext.Default.NanoRunRecord, cancellationToken).ConfigureAwait(false)
            ?? throw new NanoRunException(NanoRunError.Unexpected, response.StatusCode, $"unit {unit}: the server sent an empty record for {id}");
    }

    /// <summary>Polls the record until the request is final (succeeded, failed or cancelled) and returns it.</summary>
    /// <param name="unit">The unit name.</param>
    /// <param name="id">The request id.</param>
    /// <param name="timeout">How long to wait at most; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">The request was not final within <paramref name="timeout"/>.</exception>
    public async Task<NanoRunRecord> WaitAsync(string unit, string id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var limit = timeout == Timeout.InfiniteTimeSpan ? null : new CancellationTokenSource(timeout);
        using var linked = limit is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        var token = linked?.Token ?? cancellationToken;
        var pause = _options.PollInterval;
        try
        {
            while (true)
            {
                var record = await GetAsync(unit, id, token).ConfigureAwait(false);
                if (record.Complete)
                {
                    return record;
                }

                await Task.Delay(pause, token).ConfigureAwait(false);
                pause = pause * 2 < _options.MaxPollInterval ? pause * 2 : _options.MaxPollInterval;
            }
        }
        catch (OperationCanceledException) when (limit?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"unit {unit}: request {id} was not final after {timeout}"));
        }
    }

    /// <summary>Opens the result of the request's last attempt: its status, headers and streamed body.</summary>
    /// <exception cref="NanoRunException">The request is still processing (<see cref="NanoRunError.NotFinished"/>),
    /// was cancelled before any attempt (<see cref="NanoRunError.NotFound"/>), or is unknown.</exception>
    public async Task<NanoRunResult> GetResultAsync(string unit, string id, CancellationToken cancellationToken = default)
    {
        var record = await GetAsync(unit, id, cancellationToken).ConfigureAwait(false);
        if (!record.Complete)
        {
            throw new NanoRunException(NanoRunError.NotFinished, (HttpStatusCode)425, $"unit {unit}: request {id} is still {record.Outcome}; it has no final result yet");
        }

        var attempt = record.LastAttempt
            ?? throw new NanoRunException(NanoRunError.NotFound, HttpStatusCode.NotFound, $"unit {unit}: request {id} was {record.Outcome} before any attempt ran");
        var request = new HttpRequestMessage(HttpMethod.Get, RequestPath(unit, id) + "/attempt/" + Uri.EscapeDataString(attempt.Id));
        HttpResponseMessage? response = null;
        try
        {
            AddCredentials(request);
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);

            // The attempt's own status is the answer (any code), so only a missing X-Processed marks a refusal.
            if (!response.Headers.Contains("X-Processed"))
            {
                await ThrowAsync(response, unit, cancellationToken).ConfigureAwait(false);
            }

            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new NanoRunResult(record, attempt, response, body);
        }
        catch
        {
            response?.Dispose();
            throw;
        }
        finally
        {
            request.Dispose();
        }
    }

    /// <summary>Queues a new request with the saved content of request <paramref name="id"/> and returns the new id.</summary>
    /// <exception cref="NanoRunException">Unknown request (404) or its body is gone (410).</exception>
    public async Task<string> RetryAsync(string unit, string id, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, RequestPath(unit, id));
        return await SendForIdAsync(request, unit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Completes the request with no further attempts; a running attempt is cancelled.</summary>
    /// <exception cref="NanoRunException">Unknown request (404), or a request that already finished (409, <see cref="NanoRunError.Conflict"/>).</exception>
    public async Task CancelAsync(string unit, string id, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, RequestPath(unit, id));
        using var response = await SendAsync(request, unit, cancellationToken).ConfigureAwait(false);
    }

    private string UnitPath(string unit) => _api + Uri.EscapeDataString(unit) + "/";

    private string RequestPath(string unit, string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        ArgumentException.ThrowIfNullOrEmpty(id);
        return _api + Uri.EscapeDataString(unit) + "/" + Uri.EscapeDataString(id);
    }

    private void AddCredentials(HttpRequestMessage request)
    {
        if (_options.Token is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.TryAddWithoutValidation("X-Api-Token", token);
        }
    }

    /// <summary>Sends a call whose success is a 2xx or 3xx answer; anything else becomes a <see cref="NanoRunException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string unit, CancellationToken cancellationToken)
    {
        AddCredentials(request);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode < 400)
        {
            return response;
        }

        using (response)
        {
            await ThrowAsync(response, unit, cancellationToken).ConfigureAwait(false);
            return response;
        }
    }

    /// <summary>
    /// Sends a call the server answers with 303 to the new request, and returns its id. When the handler followed the
    /// redirect itself, the answer is that of a GET of the record, sent without <c>Authorization</c> (handlers drop it on
    /// redirects): a 401 or 403 there still means the request was stored, and the followed address names its id.
    /// </summary>
    private async Task<string> SendForIdAsync(HttpRequestMessage request, string unit, CancellationToken cancellationToken)
    {
        var sent = request.RequestUri;
        var method = request.Method;
        AddCredentials(request);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var followed = response.RequestMessage is { } last && (last.Method != method || last.RequestUri != sent) ? last.RequestUri : null;
        if ((int)response.StatusCode < 400)
        {
            return CorrelationId(response, unit);
        }

        if (followed is not null && response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden && RecordId(followed) is { } id)
        {
            return id;
        }

        await ThrowAsync(response, unit, cancellationToken).ConfigureAwait(false);
        return string.Empty;
    }

    /// <summary>The request id a record's address ends in (32 lower-case hex digits), or <c>null</c>.</summary>
    private static string? RecordId(Uri address)
    {
        var path = address.IsAbsoluteUri ? address.AbsolutePath : address.OriginalString.Split('?')[0];
        var id = path[(path.LastIndexOf('/') + 1)..];
        if (id.Length != 32)
        {
            return null;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return null;
            }
        }

        return id;
    }

    private static string CorrelationId(HttpResponseMessage response, string unit) =>
        response.Headers.TryGetValues("X-Correlation-Id", out var values) && values.FirstOrDefault() is { Length: > 0 } id
            ? id
            : throw new NanoRunException(NanoRunError.Unexpected, response.StatusCode, $"unit {unit}: the server answered {(int)response.StatusCode} without X-Correlation-Id");

    private static async Task ThrowAsync(HttpResponseMessage response, string unit, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        var reason = await ReasonAsync(response, cancellationToken).ConfigureAwait(false);
        var (error, what) = (int)status switch
        {
            401 => (NanoRunError.Unauthorized, "needs valid credentials (check the token)"),
            403 => (NanoRunError.Forbidden, "refused the credentials"),
            404 => (NanoRunError.NotFound, "or the request does not exist"),
            409 => (NanoRunError.Conflict, "cannot do that in the request's state"),
            410 => (NanoRunError.Gone, "no longer stores the request's body"),
            413 => (NanoRunError.TooLarge, "refused the body as too large"),
            425 => (NanoRunError.NotFinished, "has not finished the request yet"),
            503 => (NanoRunError.Unavailable, "cannot take requests now (queue full, disk low or store unavailable); try again later"),
            507 => (NanoRunError.InsufficientStorage, "ran out of disk space while saving the body"),
            _ => (NanoRunError.Unexpected, "answered unexpectedly"),
        };
        var retryAfter = response.Headers.RetryAfter?.Delta;
        var message = error == NanoRunError.NotFound
            ? $"unit {unit} does not exist {what} ({(int)status} {status})"
            : $"unit {unit} {what} ({(int)status} {status})";
        throw new NanoRunException(error, status, reason.Length > 0 ? message + ": " + reason : message, retryAfter);
    }

    /// <summary>The <c>detail</c> of a short problem document, or the first line of a short plain-text answer: the server's reason; empty otherwise.</summary>
    private static async Task<string> ReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is not ("text/plain" or "application/problem+json") || response.Content.Headers.ContentLength is not (> 0 and < 4096))
        {
            return string.Empty;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (mediaType == "application/problem+json")
        {
            try
            {
                using var problem = System.Text.Json.JsonDocument.Parse(text);
                return problem.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                    && problem.RootElement.TryGetProperty("detail", out var detail) && detail.ValueKind == System.Text.Json.JsonValueKind.String
                    ? detail.GetString()!.Trim()
                    : string.Empty;
            }
            catch (System.Text.Json.JsonException)
            {
                return string.Empty;
            }
        }

        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        return (newline < 0 ? text : text[..newline]).Trim();
    }
}
