using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.AspNetCore.Api;
using NanoRun.Requests;
using NanoRun.Storage;

using static NanoRun.AspNetCore.Ui.UiEndpoints;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The UI's forms: submit a request, retry, cancel, and replay the failed ones; each goes through the same admission as the API.</summary>
internal sealed class UiFormEndpoints(UiEndpoints ui)
{
    private const string DefaultContentType = "text/plain; charset=utf-8";

    /// <summary><c>POST /units/{unit}</c>: queues the form's payload (typed text or an uploaded file) as a request to the unit.</summary>
    public async Task SubmitAsync(HttpContext context)
    {
        var session = await ui.EnterAsync(context, form: true).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        var requests = UiEndpoints.Requests(context);
        var unit = FindUnit(context);
        if (unit is null || unit.Private)
        {
            await NotFoundAsync(context, session, "No public unit of that name.").ConfigureAwait(false);
            return;
        }

        // The antiforgery check has read the form already; an uploaded file waits in a temporary file, not in memory.
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        Stream body;
        string contentType;
        var file = form.Files.GetFile("file");
        if (file is { Length: > 0 })
        {
            body = file.OpenReadStream();
            contentType = string.IsNullOrWhiteSpace(file.ContentType) ? "application/octet-stream" : file.ContentType;
        }
        else
        {
            // Browsers send a textarea's line breaks as CRLF; commands on this side expect LF. The text is bounded by
            // the form value limit (4 MiB by default).
            var text = form["payload"].ToString().ReplaceLineEndings("\n");
            body = new MemoryStream(Encoding.UTF8.GetBytes(text), writable: false);
            var declared = form["content_type"].ToString().Trim();
            contentType = declared.Length > 0 ? declared : DefaultContentType;
        }

        EnqueueResult result;
        await using (body.ConfigureAwait(false))
        {
            KeyValuePair<string, string>[] headers =
            [
                new("Content-Type", contentType),
                new("Content-Length", body.Length.ToString(CultureInfo.InvariantCulture)),
            ];
            var request = new IncomingRequest(HttpMethods.Post, "/api/" + unit.Name + "/", headers, body) { Principal = UiPrincipal(session) };
            result = await Admission(context).EnqueueAsync(unit, request, context.RequestAborted).ConfigureAwait(false);
        }

        if (result.Admission.Outcome == AdmissionOutcome.TooLarge)
        {
            var text = string.Create(CultureInfo.InvariantCulture, $"The payload is larger than the unit's limit of {Display.Size(unit.MaxRequest)}.");
            await MessageAsync(context, session, StatusCodes.Status413PayloadTooLarge, "Payload too large", text, session.Unit(unit.Name)).ConfigureAwait(false);
            return;
        }

        if (result.Id is not { } id)
        {
            await NotQueuedAsync(context, session, result.Admission, session.Unit(unit.Name)).ConfigureAwait(false);
            return;
        }

        context.Response.Redirect(session.Request(unit.Name, id));
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    /// <summary><c>POST /units/{unit}/requests/{id}/retry</c>: queues a new request with the same saved content.</summary>
    public async Task RetryAsync(HttpContext context)
    {
        if (await ui.EnterRequestAsync(context, form: true).ConfigureAwait(false) is not var (session, unit, record))
        {
            return;
        }

        var result = await Admission(context).RetryAsync(unit, record, UiPrincipal(session), context.RequestAborted).ConfigureAwait(false);
        if (result is null)
        {
            await MessageAsync(context, session, StatusCodes.Status410Gone, "Cannot retry", "The saved payload is no longer stored.", session.Request(unit.Name, record.Id)).ConfigureAwait(false);
            return;
        }

        if (result.Value.Id is not { } id)
        {
            await NotQueuedAsync(context, session, result.Value.Admission, session.Request(unit.Name, record.Id)).ConfigureAwait(false);
            return;
        }

        context.Response.Redirect(session.Request(unit.Name, id));
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    /// <summary>Failed requests replayed by one press of the unit page's button.</summary>
    private const int ReplayBatch = 100;

    /// <summary><c>POST /units/{unit}/failed/retry</c>: replays the newest failed requests (a bounded batch), each at most once.</summary>
    public async Task ReplayFailedAsync(HttpContext context)
    {
        if (await ui.EnterUnitAsync(context, form: true).ConfigureAwait(false) is not var (session, unit))
        {
            return;
        }

        var batch = await Admission(context).ReplayFailedAsync(unit, ReplayBatch, null, UiPrincipal(session), context.RequestAborted).ConfigureAwait(false);
        var queued = 0;
        var earlier = 0;
        foreach (var item in batch.Items)
        {
            queued += item.NewId is not null && !item.AlreadyReplayed ? 1 : 0;
            earlier += item.AlreadyReplayed ? 1 : 0;
        }

        var text = string.Create(CultureInfo.InvariantCulture, $"Queued {queued} new requests from the newest {batch.Items.Count} failed ones; {earlier} had been replayed before.");
        if (batch.Refused is { } refused)
        {
            text += " Stopped before the rest: " + refused.Reason + ".";
            if (queued == 0)
            {
                await NotQueuedAsync(context, session, refused, session.Unit(unit.Name)).ConfigureAwait(false);
                return;
            }
        }
        else if (batch.Next is not null)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" Older failed requests remain; one press replays at most {ReplayBatch}.");
        }

        await MessageAsync(context, session, StatusCodes.Status200OK, "Failed requests replayed", text, session.Unit(unit.Name)).ConfigureAwait(false);
    }

    /// <summary>The principal stored with a request queued from the UI: <c>ui:{login}</c>, or <c>null</c> when the UI is open.</summary>
    private static string? UiPrincipal(UiSession session) => session.Login is { } login ? "ui:" + login : null;

    private static RequestAdmission Admission(HttpContext context) => context.RequestServices.GetRequiredService<RequestAdmission>();

    /// <summary>The "Not queued" page: the admission rule refused the request, with the API's status code and <c>Retry-After</c>.</summary>
    internal static Task NotQueuedAsync(HttpContext context, UiSession session, AdmissionResult refusal, string back)
    {
        AdmissionResponses.SetHead(context.Response, refusal);
        var text = string.Create(CultureInfo.InvariantCulture, $"Nothing was stored: {refusal.Reason}. Try again in {AdmissionResponses.RetryAfterSeconds(refusal)} s.");
        return MessageAsync(context, session, AdmissionResponses.StatusCode(refusal), "Not queued", text, back);
    }

    /// <summary><c>POST /units/{unit}/requests/{id}/cancel</c>: no further attempts; a running attempt is stopped.</summary>
    public async Task CancelAsync(HttpContext context)
    {
        if (await ui.EnterRequestAsync(context, form: true).ConfigureAwait(false) is not var (session, unit, record))
        {
            return;
        }

        await UiEndpoints.Requests(context).CancelAsync(record.Id, context.RequestAborted).ConfigureAwait(false);
        context.Response.Redirect(session.Request(unit.Name, record.Id));
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }
}
