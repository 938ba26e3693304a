using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.AspNetCore.Authorization;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

using static NanoRun.AspNetCore.Api.RequestEndpoints;

namespace NanoRun.AspNetCore.Api;

/// <summary>The API's views of stored requests (a record, its final attempt, an attempt's answer and stderr, the saved request, a unit's list) and the bulk replay of its failed ones.</summary>
internal static partial class RecordEndpoints
{
    /// <summary><c>GET /{unit}/{id}</c>: the record as JSON.</summary>
    public static async Task GetRecordAsync(HttpContext context)
    {
        var record = await FindAsync(context).ConfigureAwait(false);
        if (record is null)
        {
            return;
        }

        var headers = context.Response.Headers;
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        headers["X-Correlation-Id"] = record.Id;
        headers["X-Status"] = record.State.IsFinal() ? "complete" : "processing";
        headers["X-Outcome"] = record.State.ToWire();
        headers["Content-Version"] = record.Attempts.Count.ToString(CultureInfo.InvariantCulture);
        headers.LastModified = record.UpdatedAt.ToString("R", CultureInfo.InvariantCulture);
        headers.Age = ((long)Math.Max(0, (now - record.CreatedAt).TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        if (record.Attempts.Count > 0)
        {
            var last = record.Attempts[^1];
            headers["X-Last-Attempt"] = last.Id;
            headers["X-Last-Attempt-At"] = last.CreatedAt.ToString("R", CultureInfo.InvariantCulture);
            if (record.State.IsFinal())
            {
                headers.Location = LocationFor(context, record.Unit, record.Id + "/attempt/" + last.Id);
            }
        }

        var requests = RequestEndpoints.Requests(context);
        var running = record.State.IsFinal() ? null : StreamEndpoints.RunningAttempt(requests, record.Id);
        var callback = await CallbackOfAsync(requests, record.Unit, record.Id, context.RequestAborted).ConfigureAwait(false);
        await RecordJson.WriteAsync(context.Response, Redacted(context, record), context.RequestAborted, running, callback).ConfigureAwait(false);
    }

    /// <summary><c>GET /{unit}/{id}/completed</c>: 301 to the final attempt, 425 while processing.</summary>
    public static async Task GetCompletedAsync(HttpContext context)
    {
        var record = await FindAsync(context).ConfigureAwait(false);
        if (record is null)
        {
            return;
        }

        context.Response.Headers["X-Correlation-Id"] = record.Id;
        if (!record.State.IsFinal())
        {
            await WriteProblemAsync(context, Status425TooEarly, "the request is still " + record.State.ToWire() + "; it has no final attempt yet").ConfigureAwait(false);
            return;
        }

        if (record.Attempts.Count == 0)
        {
            // Cancelled before any attempt ran: complete, but there is nothing to point at.
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, "request was cancelled before any attempt").ConfigureAwait(false);
            return;
        }

        context.Response.Headers.Location = LocationFor(context, record.Unit, record.Id + "/attempt/" + record.Attempts[^1].Id);
        context.Response.StatusCode = StatusCodes.Status301MovedPermanently;
    }

    /// <summary><c>GET /{unit}/{id}/attempt/{attemptId}</c>: the attempt's own status, content headers and body.</summary>
    public static async Task GetAttemptAsync(HttpContext context)
    {
        if (await FindAttemptAsync(context).ConfigureAwait(false) is not var (record, attempt))
        {
            return;
        }

        var body = await RequestEndpoints.Requests(context).OpenBodyAsync(attempt.Result, context.RequestAborted).ConfigureAwait(false);
        StoredBodyResponse.CopyHeaders(attempt.Headers, context.Response.Headers, allowLocation: true);
        context.Response.Headers["X-Status"] = record.State.IsFinal() ? "complete" : "processing";
        context.Response.Headers["X-Processed"] = "true";
        context.Response.Headers["X-Correlation-Id"] = record.Id;
        context.Response.Headers["X-Attempt-Id"] = attempt.Id;
        context.Response.StatusCode = attempt.Code;
        await StoredBodyResponse.SendAsync(context, body, attempt.Result.Length).ConfigureAwait(false);
    }

    /// <summary><c>GET /{unit}/{id}/request</c>: the saved request body with those of its headers that describe it.</summary>
    public static async Task GetRequestAsync(HttpContext context)
    {
        var record = await FindAsync(context).ConfigureAwait(false);
        if (record is null)
        {
            return;
        }

        var body = await RequestEndpoints.Requests(context).OpenBodyAsync(record.Body, context.RequestAborted).ConfigureAwait(false);
        var shown = Redacted(context, record);
        StoredBodyResponse.CopyHeaders(shown.Headers, context.Response.Headers, allowLocation: false);
        context.Response.Headers["X-Correlation-Id"] = record.Id;
        context.Response.Headers["X-Method"] = record.Method;
        context.Response.Headers["X-Request-Uri"] = StoredBodyResponse.AsciiValue(shown.Uri);
        context.Response.Headers.LastModified = record.CreatedAt.ToString("R", CultureInfo.InvariantCulture);
        context.Response.StatusCode = StatusCodes.Status200OK;
        await StoredBodyResponse.SendAsync(context, body, record.Body.Length).ConfigureAwait(false);
    }

    /// <summary>The request and its attempt named by the route; answers 404 and returns <c>null</c> when either is missing.</summary>
    private static async Task<(RequestRecord Record, AttemptRecord Attempt)?> FindAttemptAsync(HttpContext context)
    {
        var record = await FindAsync(context).ConfigureAwait(false);
        if (record is null)
        {
            return null;
        }

        var attemptId = context.Request.RouteValues["attemptId"] as string;
        var attempt = record.Attempts.LastOrDefault(candidate => string.Equals(candidate.Id, attemptId, StringComparison.Ordinal));
        if (attempt is null)
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, "the request has no attempt " + attemptId).ConfigureAwait(false);
            return null;
        }

        return (record, attempt);
    }
}
