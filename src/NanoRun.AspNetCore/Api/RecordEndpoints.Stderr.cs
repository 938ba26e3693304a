using Microsoft.AspNetCore.Http;
using NanoRun.Requests;
using NanoRun.Storage;

using static NanoRun.AspNetCore.Api.RequestEndpoints;

namespace NanoRun.AspNetCore.Api;

/// <summary>The kept stderr of an attempt.</summary>
internal static partial class RecordEndpoints
{
    /// <summary>
    /// <c>GET /{unit}/{id}/attempt/{attemptId}/stderr</c>: the last bytes the attempt wrote to stderr, with the runner's
    /// own words on why it failed, as sandboxed <c>text/plain</c>; empty when nothing was kept.
    /// </summary>
    public static async Task GetAttemptStderrAsync(HttpContext context)
    {
        if (await FindAttemptAsync(context).ConfigureAwait(false) is not var (record, attempt))
        {
            return;
        }

        var stderr = await RequestEndpoints.Requests(context).OpenBodyAsync(attempt.Stderr, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers["X-Status"] = record.State.IsFinal() ? "complete" : "processing";
        context.Response.Headers["X-Correlation-Id"] = record.Id;
        context.Response.Headers["X-Attempt-Id"] = attempt.Id;
        await StoredBodyResponse.SendAsync(context, stderr, attempt.Stderr.Length).ConfigureAwait(false);
    }
}
