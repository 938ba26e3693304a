using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.Requests;
using NanoRun.Storage;

using static NanoRun.AspNetCore.Ui.UiEndpoints;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The UI's many-request action: retry or cancel the requests ticked in a unit's list.</summary>
internal sealed class UiBulkEndpoints(UiEndpoints ui)
{
    /// <summary>Most ids one form may name (the longest list page is smaller).</summary>
    private const int MaxSelected = 500;

    /// <summary>
    /// <c>POST /units/{unit}/selected</c>: retries (<c>action=retry</c>) or cancels (<c>action=cancel</c>) the ticked
    /// requests of the unit. Only rows whose state allows the action are acted on: a retry queues a new request for a
    /// finished one, a cancel stops one that is not finished; the answer page says how many.
    /// </summary>
    public async Task SelectedAsync(HttpContext context)
    {
        if (await ui.EnterUnitAsync(context, form: true).ConfigureAwait(false) is not var (session, unit))
        {
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var action = form["action"].ToString();
        var ids = form["id"];
        var back = session.Unit(unit.Name);
        if (action is not ("retry" or "cancel") || ids.Count == 0 || ids.Count > MaxSelected)
        {
            var why = ids.Count == 0 ? "No request was selected." : string.Create(CultureInfo.InvariantCulture, $"Choose retry or cancel for 1 to {MaxSelected} requests.");
            await MessageAsync(context, session, StatusCodes.Status400BadRequest, "Nothing done", why, back).ConfigureAwait(false);
            return;
        }

        var requests = UiEndpoints.Requests(context);
        var admission = context.RequestServices.GetRequiredService<RequestAdmission>();
        var principal = session.Login is { } login ? "ui:" + login : null;
        var acted = 0;
        var skipped = 0;
        AdmissionResult? refused = null;
        foreach (var id in ids)
        {
            var record = id is not null && RequestId.IsValid(id) ? await requests.GetAsync(id, context.RequestAborted).ConfigureAwait(false) : null;
            if (record is null || !string.Equals(record.Unit, unit.Name, StringComparison.Ordinal) || record.State.IsFinal() != (action == "retry"))
            {
                skipped++;
                continue;
            }

            if (action == "cancel")
            {
                acted += await requests.CancelAsync(record.Id, context.RequestAborted).ConfigureAwait(false) == RequestState.Cancelled ? 1 : 0;
                continue;
            }

            var result = await admission.RetryAsync(unit, record, principal, context.RequestAborted).ConfigureAwait(false);
            if (result is { Id: not null })
            {
                acted++;
            }
            else if (result is { } refusal)
            {
                // The admission rule refused this one (rate, queue or disk): the rest would be refused the same way.
                refused = refusal.Admission;
                break;
            }
            else
            {
                skipped++;
            }
        }

        var verb = action == "retry" ? "Retried" : "Cancelled";
        var text = string.Create(CultureInfo.InvariantCulture, $"{verb} {acted} of {ids.Count} selected requests.");
        if (skipped > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" {skipped} were left as they were: ") + (action == "retry" ? "only finished requests are retried." : "only unfinished requests are cancelled.");
        }

        if (refused is { } stop)
        {
            text += " Stopped before the rest: " + stop.Reason + ".";
        }

        await MessageAsync(context, session, StatusCodes.Status200OK, verb + " selected requests", text, back).ConfigureAwait(false);
    }
}
