using System.Text.Json;
using Microsoft.AspNetCore.Http;
using NanoRun.Admission;
using NanoRun.Requests;
using NanoRun.Storage;

using static NanoRun.AspNetCore.Api.RequestEndpoints;

namespace NanoRun.AspNetCore.Api;

internal static partial class RecordEndpoints
{
    /// <summary>
    /// <c>POST /{unit}/cancel?state=queued&amp;limit=</c>: cancels up to <c>limit</c> (default and most
    /// <see cref="RequestAdmission.MaxReplayBatch"/>) queued requests, earliest arrived first, in one store call.
    /// </summary>
    public static async Task CancelQueuedAsync(HttpContext context)
    {
        var (unit, _) = await ResolveAsync(context, forNewRequest: false, bodyFollows: false).ConfigureAwait(false);
        if (unit is null)
        {
            return;
        }

        if (!context.Request.Query.TryGetValue("state", out var state) || state.Count != 1 || !string.Equals(state[0], "queued", StringComparison.Ordinal))
        {
            await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "state must be queued: only queued requests are cancelled in bulk").ConfigureAwait(false);
            return;
        }

        var limit = await ReadLimitAsync(context, RequestAdmission.MaxReplayBatch, RequestAdmission.MaxReplayBatch).ConfigureAwait(false);
        if (limit is null)
        {
            return;
        }

        var batch = await RequestEndpoints.Requests(context).CancelQueuedAsync(unit.Name, limit.Value, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "application/json; charset=utf-8";
        var document = new CancelBatchDocument { Cancelled = batch.Ids.Count, Ids = batch.Ids, More = batch.More };
        await JsonSerializer.SerializeAsync(context.Response.Body, document, BulkJsonContext.Default.CancelBatchDocument, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The page <c>GET /{unit}/</c> lists: the search's matches when <c>q</c> is given, else the unit's requests in
    /// <paramref name="state"/>; answers 400 and returns <c>null</c> when <c>q</c> is empty or comes with <c>state</c>.
    /// </summary>
    private static async ValueTask<IAsyncEnumerable<RequestSummary>?> ListSourceAsync(HttpContext context, string unit, int limit, string? before, RequestState? state)
    {
        if (!context.Request.Query.TryGetValue("q", out var q))
        {
            return RequestEndpoints.Requests(context).PageAsync(new PageParams(unit, limit, before, state), context.RequestAborted);
        }

        if (q.Count != 1 || string.IsNullOrWhiteSpace(q[0]) || state is not null)
        {
            await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "q must be one non-empty search text, without state").ConfigureAwait(false);
            return null;
        }

        return RequestEndpoints.Requests(context).SearchAsync(new SearchParams(unit, q[0]!, limit, before), context.RequestAborted);
    }
}
