using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Output;
using NanoRun.Requests;
using NanoRun.Storage;

using static NanoRun.AspNetCore.Api.RequestEndpoints;

namespace NanoRun.AspNetCore.Api;

/// <summary><c>GET /{unit}/{id}/attempt/{attemptId}/stream</c>: an attempt's output as plain chunked text while it is produced.</summary>
internal static class StreamEndpoints
{
    private const int StreamBufferSize = 16 * 1024;

    /// <summary>
    /// Follows a running attempt's output (chunked <c>text/plain</c>, flushed as it arrives) until the attempt ends; for a
    /// finished attempt sends the stored result. A reader that falls behind the live window continues from the stored
    /// result once the attempt is recorded.
    /// </summary>
    public static async Task StreamAttemptAsync(HttpContext context)
    {
        var record = await FindAsync(context).ConfigureAwait(false);
        if (record is null)
        {
            return;
        }

        await StreamOutputAsync(context, RequestEndpoints.Requests(context), record, context.Request.RouteValues["attemptId"] as string).ConfigureAwait(false);
    }

    /// <summary>Sends the output of one attempt of <paramref name="record"/>, following it while it runs on this node; 404 when there is no such attempt.</summary>
    internal static async Task StreamOutputAsync(HttpContext context, INanoRunRequests requests, RequestRecord record, string? attemptId)
    {
        var stored = FindAttempt(record, attemptId);
        var offset = 0L;
        var response = context.Response;
        var aborted = context.RequestAborted;
        if (stored is null && requests.FindRunning(record.Id) is { } live && string.Equals(live.AttemptId, attemptId, StringComparison.Ordinal))
        {
            StartStream(context, record.Id, live.AttemptId);
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await response.StartAsync(aborted).ConfigureAwait(false);
            var buffer = ArrayPool<byte>.Shared.Rent(StreamBufferSize);
            try
            {
                while (true)
                {
                    var read = await live.ReadAsync(offset, buffer, aborted).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    if (read == LiveOutput.Behind)
                    {
                        break;
                    }

                    await response.Body.WriteAsync(buffer.AsMemory(0, read), aborted).ConfigureAwait(false);
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    offset += read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            // Fell behind the window: the rest comes from the stored result once the attempt is recorded.
            await live.Ended.WaitAsync(aborted).ConfigureAwait(false);
            var recorded = await requests.GetAsync(record.Id, aborted).ConfigureAwait(false);
            stored = recorded is null ? null : FindAttempt(recorded, attemptId);
            if (stored is null)
            {
                return;
            }
        }
        else if (stored is null)
        {
            await ProblemResponses.WriteAsync(context, StatusCodes.Status404NotFound, "the request has no attempt " + attemptId).ConfigureAwait(false);
            return;
        }
        else
        {
            StartStream(context, record.Id, stored.Id);
            response.ContentLength = stored.Result.Length;
        }

        var body = await requests.OpenBodyAsync(stored.Result, aborted).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        await using (body.ConfigureAwait(false))
        {
            await SkipAsync(body, offset, aborted).ConfigureAwait(false);
            await body.CopyToAsync(response.Body, StreamBufferSize, aborted).ConfigureAwait(false);
        }
    }

    private static AttemptRecord? FindAttempt(RequestRecord record, string? attemptId)
    {
        foreach (var candidate in record.Attempts)
        {
            if (string.Equals(candidate.Id, attemptId, StringComparison.Ordinal))
            {
                return candidate;
            }
        }

        return null;
    }

    private static void StartStream(HttpContext context, string requestId, string attemptId)
    {
        var headers = context.Response.Headers;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/plain; charset=utf-8";
        headers.CacheControl = "no-store";
        StoredBodyResponse.Protect(context.Response);
        headers["X-Correlation-Id"] = requestId;
        headers["X-Attempt-Id"] = attemptId;
    }

    private static async Task SkipAsync(Stream body, long count, CancellationToken cancellationToken)
    {
        if (count <= 0)
        {
            return;
        }

        if (body.CanSeek)
        {
            body.Seek(count, SeekOrigin.Begin);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(StreamBufferSize);
        try
        {
            while (count > 0)
            {
                var read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                count -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The attempt running on this node for <paramref name="requestId"/>, for the record JSON; <c>null</c> when none.</summary>
    internal static RunningAttemptDocument? RunningAttempt(INanoRunRequests requests, string requestId) =>
        requests.FindRunning(requestId) is { } live
            ? new RunningAttemptDocument
            {
                Id = live.AttemptId,
                Number = live.Number,
                StartedAt = live.StartedAt,
                OutputLength = live.Length,
            }
            : null;

}
