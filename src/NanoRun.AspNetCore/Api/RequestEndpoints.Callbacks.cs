using Microsoft.AspNetCore.Http;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Api;

/// <summary>The completion-callback parts of the request handlers.</summary>
internal static partial class RequestEndpoints
{
    /// <summary>
    /// Refuses with 400 an <c>X-Callback-Url</c> that the unit does not allow (<c>allow_callback_url</c>) or that is not
    /// one absolute http or https URL, before any body is read; returns whether the request may go on.
    /// </summary>
    private static async ValueTask<bool> CheckCallbackUrlAsync(HttpContext context, UnitDefinition unit)
    {
        if (!context.Request.Headers.TryGetValue(CallbackSettings.UrlHeader, out var values))
        {
            return true;
        }

        if (!unit.AllowCallbackUrl)
        {
            await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "unit " + unit.Name + " does not accept X-Callback-Url (allow_callback_url is off)").ConfigureAwait(false);
            return false;
        }

        if (values.Count != 1 || CallbackSettings.ParseUrl((values[0] ?? string.Empty).Trim()) is null)
        {
            await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "X-Callback-Url must be one absolute http or https URL").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>The callback delivery state for the record JSON, or <c>null</c> when the request has no callback.</summary>
    internal static async Task<CallbackDocument?> CallbackOfAsync(INanoRunRequests requests, string unitName, string requestId, CancellationToken cancellationToken)
    {
        return await requests.GetCallbackAsync(unitName, requestId, cancellationToken).ConfigureAwait(false) is { } status
            ? new CallbackDocument
            {
                State = status.State switch
                {
                    CallbackState.Pending => "pending",
                    CallbackState.Delivered => "delivered",
                    CallbackState.Failed => "failed",
                    _ => "skipped",
                },
                Attempts = status.Attempts,
                LastStatus = status.LastStatus,
                LastError = status.LastError,
            }
            : null;
    }
}
