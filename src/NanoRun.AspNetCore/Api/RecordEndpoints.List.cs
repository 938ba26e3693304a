using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.Requests;
using NanoRun.Storage;

using static NanoRun.AspNetCore.Api.RequestEndpoints;

namespace NanoRun.AspNetCore.Api;

internal static partial class RecordEndpoints
{
    /// <summary>Default and largest page of <c>GET /{unit}/</c>.</summary>
    private const int DefaultListLimit = 50;
    private const int MaxListLimit = 500;

    /// <summary>Default batch of <c>POST /{unit}/failed/retry</c>.</summary>
    private const int DefaultReplayLimit = 100;

    /// <summary><c>GET /{unit}/?state=&amp;q=&amp;limit=&amp;before=</c>: one page of the unit's requests, newest first, optionally in one state or matching a search.</summary>
    public static async Task ListAsync(HttpContext context)
    {
        var (unit, _) = await ResolveAsync(context, forNewRequest: false, bodyFollows: false).ConfigureAwait(false);
        if (unit is null)
        {
            return;
        }

        var query = context.Request.Query;
        RequestState? state = null;
        if (query.TryGetValue("state", out var stateText))
        {
            if (stateText.Count != 1 || ParseState(stateText[0]) is not { } parsed)
            {
                await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "state must be one of queued, running, retrying, succeeded, failed, cancelled").ConfigureAwait(false);
                return;
            }

            state = parsed;
        }

        var limit = await ReadLimitAsync(context, DefaultListLimit, MaxListLimit).ConfigureAwait(false);
        if (limit is null)
        {
            return;
        }

        var (valid, before) = await ReadBeforeAsync(context).ConfigureAwait(false);
        if (!valid)
        {
            return;
        }

        var source = await ListSourceAsync(context, unit.Name, limit.Value + 1, before, state).ConfigureAwait(false);
        if (source is null)
        {
            return;
        }

        var items = new List<RequestSummaryDocument>(limit.Value + 1);
        await foreach (var summary in source.ConfigureAwait(false))
        {
            items.Add(new RequestSummaryDocument
            {
                Id = summary.Id,
                Outcome = summary.State.ToWire(),
                Complete = summary.State.IsFinal(),
                Attempts = summary.AttemptCount,
                CreatedAt = summary.CreatedAt,
                CompleteAt = summary.CompletedAt,
                WaitedMs = summary.FirstStartedAt is { } first ? (long)(first - summary.CreatedAt).TotalMilliseconds : null,
                RanMs = (long)summary.Ran.TotalMilliseconds,
            });
        }

        string? next = null;
        if (items.Count > limit.Value)
        {
            // One more than a page was read only to learn that an older page exists.
            items.RemoveAt(limit.Value);
            next = items[^1].Id;
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        var paused = await UnitControlEndpoints.UnitStatusAsync(context, unit.Name).ConfigureAwait(false);
        var document = new RequestListDocument { Unit = unit.Name, State = state?.ToWire(), Paused = paused.Paused, Requests = items, Next = next };
        await JsonSerializer.SerializeAsync(context.Response.Body, document, ListJsonContext.Default.RequestListDocument, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary><c>POST /{unit}/failed/retry?limit=&amp;before=</c>: replays a bounded batch of failed requests, each at most once.</summary>
    public static async Task ReplayFailedAsync(HttpContext context)
    {
        var (unit, _) = await ResolveAsync(context, forNewRequest: true, bodyFollows: false).ConfigureAwait(false);
        if (unit is null)
        {
            return;
        }

        var limit = await ReadLimitAsync(context, DefaultReplayLimit, RequestAdmission.MaxReplayBatch).ConfigureAwait(false);
        if (limit is null)
        {
            return;
        }

        var (valid, before) = await ReadBeforeAsync(context).ConfigureAwait(false);
        if (!valid)
        {
            return;
        }

        var batch = await RequestEndpoints.Admission(context).ReplayFailedAsync(unit, limit.Value, before, Authorization.CallerPrincipal.Stored(context), context.RequestAborted).ConfigureAwait(false);
        var items = new List<ReplayItemDocument>(batch.Items.Count);
        foreach (var item in batch.Items)
        {
            items.Add(new ReplayItemDocument { Id = item.OriginalId, NewId = item.NewId, AlreadyReplayed = item.AlreadyReplayed });
        }

        var queued = 0;
        foreach (var item in batch.Items)
        {
            queued += item.NewId is not null && !item.AlreadyReplayed ? 1 : 0;
        }

        RefusalDocument? refused = null;
        if (batch.Refused is { } refusal)
        {
            // The batch stopped at a refused request: with nothing queued the answer is the refusal's own status.
            refused = new RefusalDocument { Reason = refusal.Code, Message = refusal.Reason, RetryAfter = AdmissionResponses.RetryAfterSeconds(refusal) };
            if (queued == 0)
            {
                AdmissionResponses.SetHead(context.Response, refusal);
            }
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        var document = new ReplayDocument { Replayed = items, Next = batch.Next, Queued = queued, Refused = refused };
        await JsonSerializer.SerializeAsync(context.Response.Body, document, ListJsonContext.Default.ReplayDocument, context.RequestAborted).ConfigureAwait(false);
    }

    private static RequestState? ParseState(string? text)
    {
        foreach (var state in Enum.GetValues<RequestState>())
        {
            if (string.Equals(state.ToWire(), text, StringComparison.OrdinalIgnoreCase))
            {
                return state;
            }
        }

        return null;
    }

    /// <summary>The <c>limit</c> parameter, or <paramref name="fallback"/>; answers 400 and returns <c>null</c> when it is not a number from 1 to <paramref name="max"/>.</summary>
    private static async ValueTask<int?> ReadLimitAsync(HttpContext context, int fallback, int max)
    {
        if (!context.Request.Query.TryGetValue("limit", out var text))
        {
            return fallback;
        }

        if (text.Count == 1 && int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit >= 1 && limit <= max)
        {
            return limit;
        }

        await WriteProblemAsync(context, StatusCodes.Status400BadRequest, string.Create(CultureInfo.InvariantCulture, $"limit must be a whole number from 1 to {max}")).ConfigureAwait(false);
        return null;
    }

    /// <summary>The <c>before</c> cursor (a request id), or <c>null</c>; answers 400 and returns not valid when it is malformed.</summary>
    private static async ValueTask<(bool Valid, string? Before)> ReadBeforeAsync(HttpContext context)
    {
        if (!context.Request.Query.TryGetValue("before", out var text))
        {
            return (true, null);
        }

        if (text.Count == 1 && RequestId.IsValid(text[0]))
        {
            return (true, text[0]);
        }

        await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "before must be a request id from a previous page's next").ConfigureAwait(false);
        return (false, null);
    }
}
