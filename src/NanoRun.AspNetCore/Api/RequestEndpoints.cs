using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.AspNetCore.Authorization;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Api;

/// <summary>The request handlers of <c>/api/{unit}/</c>; each adapts HTTP to one engine call.</summary>
internal static partial class RequestEndpoints
{
    /// <summary>Query parameter of <c>PUT</c> that sets how long to wait.</summary>
    private const string WaitParameter = "wait";

    /// <summary>Request header whose value makes a repeated POST or PUT answer with the first request's id.</summary>
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>Response header set when the answer names a request stored earlier under the same idempotency key.</summary>
    private const string IdempotentReplayedHeader = "Idempotent-Replayed";

    /// <summary>RFC 8470 Too Early, answered by <c>/completed</c> while the request is processing.</summary>
    internal const int Status425TooEarly = 425;

    /// <summary><c>POST /{unit}/</c>: save and queue, answer 303 with the id.</summary>
    public static async Task EnqueueAsync(HttpContext context)
    {
        var (unit, verifier) = await ResolveAsync(context, forNewRequest: true, bodyFollows: true).ConfigureAwait(false);
        if (unit is null)
        {
            CountAuthRefusal(context);
            return;
        }

        var id = await SaveAsync(context, unit, verifier).ConfigureAwait(false);
        if (id is null)
        {
            return;
        }

        context.Response.Headers["X-Correlation-Id"] = id;
        context.Response.Headers.Location = LocationFor(context, unit.Name, id);
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    /// <summary><c>PUT /{unit}/?wait=</c>: save, queue and wait for the final outcome.</summary>
    public static async Task EnqueueAndWaitAsync(HttpContext context)
    {
        var (unit, verifier) = await ResolveAsync(context, forNewRequest: true, bodyFollows: true).ConfigureAwait(false);
        if (unit is null)
        {
            CountAuthRefusal(context);
            return;
        }

        var api = context.RequestServices.GetRequiredService<ApiOptions>();
        var wait = api.WaitTime;
        if (context.Request.Query.TryGetValue(WaitParameter, out var values))
        {
            // A bare number has no unit: the Go tool refuses it, and taking it as nanoseconds would not wait at all.
            if (values.Count != 1 || IsBareNumber(values[0]) || !GoDuration.TryParse(values[0] ?? string.Empty, out wait) || wait <= TimeSpan.Zero)
            {
                await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "wait must be a positive duration such as 30s or 1m30s").ConfigureAwait(false);
                return;
            }
        }

        // A wait holds a connection and a task; a longer one than the server allows is cut, not refused, so a client
        // asking for much gets the longest wait there is and then 504 with the request's id as usual.
        if (wait > api.MaxWait)
        {
            wait = api.MaxWait;
        }

        var id = await SaveAsync(context, unit, verifier).ConfigureAwait(false);
        if (id is null)
        {
            return;
        }

        context.Response.Headers["X-Correlation-Id"] = id;
        var record = await Requests(context).WaitForFinalAsync(id, wait, context.RequestAborted).ConfigureAwait(false);
        if (record is not null && record.State.IsFinal())
        {
            context.Response.Headers.Location = LocationFor(context, unit.Name, id + "/completed");
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            return;
        }

        context.Response.Headers.Location = LocationFor(context, unit.Name, id);
        await WriteProblemAsync(context, StatusCodes.Status504GatewayTimeout, "the request is still processing after the wait; its record is at Location").ConfigureAwait(false);
    }

    /// <summary><c>POST /{unit}/{id}</c>: a new request with the same saved content.</summary>
    public static async Task RetryAsync(HttpContext context)
    {
        var record = await FindAsync(context, forNewRequest: true).ConfigureAwait(false);
        if (record is null)
        {
            return;
        }

        if (Units(context).Find(record.Unit) is not { } unit)
        {
            await WriteProblemAsync(context, StatusCodes.Status410Gone, "the unit was removed; it takes no new requests").ConfigureAwait(false);
            return;
        }

        var result = await Admission(context).RetryAsync(unit, record, CallerPrincipal.Stored(context), context.RequestAborted).ConfigureAwait(false);
        if (result is null)
        {
            await WriteProblemAsync(context, StatusCodes.Status410Gone, "the saved request body is no longer stored").ConfigureAwait(false);
            return;
        }

        if (result.Value.Id is not { } id)
        {
            // A retry is a new request: the same admission rule as POST, the same answer.
            await AdmissionResponses.WriteAsync(context, result.Value.Admission).ConfigureAwait(false);
            return;
        }

        context.Response.Headers["X-Correlation-Id"] = id;
        context.Response.Headers.Location = LocationFor(context, unit.Name, id);
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    /// <summary><c>DELETE /{unit}/{id}</c>: no further attempts; a running attempt is cancelled.</summary>
    public static async Task CancelAsync(HttpContext context)
    {
        var (unit, _) = await ResolveAsync(context, forNewRequest: false, bodyFollows: false).ConfigureAwait(false);
        var id = context.Request.RouteValues["id"] as string;
        if (unit is null)
        {
            return;
        }

        if (id is null || !RequestId.IsValid(id))
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, NoSuchRequest(unit.Name)).ConfigureAwait(false);
            return;
        }

        var requests = Requests(context);
        var record = await requests.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (record is null || !string.Equals(record.Unit, unit.Name, StringComparison.Ordinal))
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, NoSuchRequest(unit.Name)).ConfigureAwait(false);
            return;
        }

        var state = await requests.CancelAsync(id, context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers["X-Correlation-Id"] = id;
        if (state is { } final && final.IsFinal() && final != RequestState.Cancelled)
        {
            // Finished before the cancel: the record keeps its outcome, and the caller learns that nothing was cancelled.
            await WriteProblemAsync(context, StatusCodes.Status409Conflict, "the request is already finished (" + final.ToWire() + "); nothing was cancelled").ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>
    /// Finds the public unit named by the route and checks the request against its authorization, before any body is
    /// read so that a refused upload leaves nothing behind; answers 404, 401 or 403 itself and returns no unit then.
    /// A unit removed by a reload still serves its stored requests (under its last authorization) but answers 410 to
    /// <paramref name="forNewRequest"/>. When <paramref name="bodyFollows"/> and only a body signature can admit the request,
    /// the verifier that must pass while the body is stored comes back with the unit.
    /// </summary>
    internal static async ValueTask<(UnitDefinition? Unit, BodyVerifier? Verifier)> ResolveAsync(HttpContext context, bool forNewRequest, bool bodyFollows)
    {
        var units = Units(context);
        var name = context.Request.RouteValues["unit"] as string;
        var unit = name is null ? null : units.Find(name);
        var removed = unit is null && name is not null;
        unit ??= removed ? units.FindRemoved(name!) : null;
        if (unit is not { Private: false })
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, "no public unit is named " + name).ConfigureAwait(false);
            return (null, null);
        }

        var authorizer = context.RequestServices.GetRequiredService<UnitAuthorizer>();
        var (allowed, verifier) = await authorizer.AuthorizeAsync(context, unit, bodyFollows).ConfigureAwait(false);
        if (!allowed)
        {
            return (null, null);
        }

        if (removed && forNewRequest)
        {
            await WriteProblemAsync(context, StatusCodes.Status410Gone, "the unit was removed; it takes no new requests").ConfigureAwait(false);
            return (null, null);
        }

        return (unit, verifier);
    }

    /// <summary>Loads the record named by the route, or answers 404 for an unknown unit, a malformed id or a record of another unit (401/403 when refused).</summary>
    internal static async Task<RequestRecord?> FindAsync(HttpContext context, bool forNewRequest = false)
    {
        var (unit, _) = await ResolveAsync(context, forNewRequest, bodyFollows: false).ConfigureAwait(false);
        var id = context.Request.RouteValues["id"] as string;
        if (unit is null)
        {
            return null;
        }

        if (id is null || !RequestId.IsValid(id))
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, NoSuchRequest(unit.Name)).ConfigureAwait(false);
            return null;
        }

        var record = await Requests(context).GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (record is null || !string.Equals(record.Unit, unit.Name, StringComparison.Ordinal))
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, NoSuchRequest(unit.Name)).ConfigureAwait(false);
            return null;
        }

        return record;
    }

    /// <summary>The record as any caller of its unit may see it: credentials hidden (see <see cref="CredentialRedaction"/>).</summary>
    internal static RequestRecord Redacted(HttpContext context, RequestRecord record) =>
        CredentialRedaction.Redact(Units(context).FindKnown(record.Unit) ?? new UnitDefinition { Name = record.Unit }, record);

    internal static UnitCatalog Units(HttpContext context) => context.RequestServices.GetRequiredService<UnitCatalog>();

    internal static INanoRunRequests Requests(HttpContext context) => context.RequestServices.GetRequiredService<INanoRunRequests>();

    internal static RequestAdmission Admission(HttpContext context) => context.RequestServices.GetRequiredService<RequestAdmission>();

    /// <summary>Streams the request body into the store; answers 413 and returns <c>null</c> when it is over the unit's limit.</summary>
    private static async Task<string?> SaveAsync(HttpContext context, UnitDefinition unit, BodyVerifier? verifier)
    {
        var request = context.Request;
        if (!await CheckCallbackUrlAsync(context, unit).ConfigureAwait(false))
        {
            return null;
        }

        if (unit.MaxRequest > 0 && request.ContentLength > unit.MaxRequest)
        {
            await AdmissionResponses.WriteAsync(context, Admission(context).RefuseTooLarge(unit)).ConfigureAwait(false);
            return null;
        }

        string? dedupeKey = null;
        if (request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            if (keys.Count != 1 || !IsIdempotencyKey(keys[0]))
            {
                await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "Idempotency-Key must be one value of 1 to 255 visible ASCII characters").ConfigureAwait(false);
                return null;
            }

            // Keys are kept apart per authenticated caller: one caller cannot learn or take over another's request.
            dedupeKey = RequestAdmission.IdempotencyDedupeKey(unit.Name, keys[0]!, CallerPrincipal.Get(context));
        }

        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        if (!DelayQuery.TryRead(request.Query, now, out var notBefore, out var delayError))
        {
            await WriteProblemAsync(context, StatusCodes.Status400BadRequest, delayError).ConfigureAwait(false);
            return null;
        }

        // The unit's max_request governs, enforced while streaming; the server-wide limit would cut large bodies of unlimited units.
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = null;
        }

        var headers = new List<KeyValuePair<string, string>>(request.Headers.Count);
        foreach (var header in request.Headers)
        {
            foreach (var value in header.Value)
            {
                headers.Add(new(header.Key, value ?? string.Empty));
            }
        }

        // The query token is a credential: it is checked above and never stored, so no later reader or command sees it.
        var uri = CredentialRedaction.WithoutQueryToken(unit, context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.Path + request.QueryString).ToString());
        try
        {
            var incoming = new IncomingRequest(request.Method, uri, headers, request.Body)
            {
                RemoteAddress = RemoteAddress(context),
                Verifier = verifier,
                Principal = CallerPrincipal.Stored(context),
                NotBefore = notBefore,
            };

            // Admission answers a repeated key from the store (before reading the body), then applies the rule (rate,
            // min_free_disk, max_queue) before it reads the body.
            var admission = Admission(context);
            var result = dedupeKey is null
                ? await admission.EnqueueAsync(unit, incoming, context.RequestAborted).ConfigureAwait(false)
                : await admission.EnqueueOnceAsync(unit, incoming, dedupeKey, context.RequestAborted).ConfigureAwait(false);
            if (result.Id is not { } id)
            {
                // Nothing is stored; Retry-After says when to send again, and existing work goes on.
                await AdmissionResponses.WriteAsync(context, result.Admission).ConfigureAwait(false);
                return null;
            }

            if (result.Admission.Outcome == AdmissionOutcome.Replayed)
            {
                context.Response.Headers[IdempotentReplayedHeader] = "true";
            }

            return id;
        }
        catch (BodyRefusedException)
        {
            // The body's signature did not match: admission removed the stored body and queued nothing.
            Admission(context).CountUnauthorized(unit.Name);
            context.RequestServices.GetRequiredService<UnitAuthorizer>().RefuseBody(context, unit);
            return null;
        }
    }

    /// <summary>Counts a new request that the unit's authorization refused (401 or 403); unknown units are not counted.</summary>
    internal static void CountAuthRefusal(HttpContext context)
    {
        if (context.Response.StatusCode is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden
            && context.Request.RouteValues["unit"] is string name)
        {
            Admission(context).CountUnauthorized(name);
        }
    }

    internal static string NoSuchRequest(string unit) => "unit " + unit + " has no request with this id";

    internal static bool IsBareNumber(string? text) =>
        !string.IsNullOrEmpty(text) && text.TrimStart('+', '-').All(char.IsAsciiDigit);

    /// <summary>A key of 1 to 255 visible ASCII characters, so it fits any store's key column and prints plainly.</summary>
    internal static bool IsIdempotencyKey(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 255)
        {
            return false;
        }

        foreach (var c in key)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The client's address as text, IPv4 rather than IPv4-mapped IPv6; <c>null</c> when unknown.</summary>
    internal static string? RemoteAddress(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address
            ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString()
            : null;

    /// <summary>
    /// The absolute path <c>{path base}{prefix}/{unit}/{rest}</c> of a <c>Location</c>, with the request's query string
    /// kept (as the Go tool does) so that a credential in the query reaches every hop of a followed redirect.
    /// </summary>
    internal static string LocationFor(HttpContext context, string unit, string rest) =>
        context.Request.PathBase.Value + ApiPrefix.Of(context) + "/" + Uri.EscapeDataString(unit) + "/" + rest + context.Request.QueryString.Value;

    internal static Task WriteProblemAsync(HttpContext context, int status, string detail) =>
        ProblemResponses.WriteAsync(context, status, detail);
}
