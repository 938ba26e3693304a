using Microsoft.AspNetCore.Http;
using NanoRun.AspNetCore.Api;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The UI's view of running attempts and completion callbacks.</summary>
internal sealed partial class UiEndpoints
{
    /// <summary><c>GET /units/{unit}/requests/{id}/attempts/{attemptId}/stream</c>: the attempt's output as plain text, followed while it runs.</summary>
    public async Task StreamAsync(HttpContext context)
    {
        var session = await EnterAsync(context, form: false).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        var (unit, record) = await FindRequestAsync(context).ConfigureAwait(false);
        if (unit is null || record is null)
        {
            await NotFoundAsync(context, session, "No request of that id in this unit.").ConfigureAwait(false);
            return;
        }

        await StreamEndpoints.StreamOutputAsync(context, Requests(context), record, context.Request.RouteValues["attemptId"] as string).ConfigureAwait(false);
    }

    /// <summary>The attempt named by the route when it is running on this node, as a placeholder record; otherwise <c>null</c>.</summary>
    private static AttemptRecord? RunningAttempt(HttpContext context, RequestRecord record)
    {
        var live = Requests(context).FindRunning(record.Id);
        return live is not null && string.Equals(live.AttemptId, context.Request.RouteValues["attemptId"] as string, StringComparison.Ordinal)
            ? new AttemptRecord(live.AttemptId, live.Number, 0, [], BodyRef.Empty, live.StartedAt, live.StartedAt)
            : null;
    }

    private static Task<CallbackStatus?> CallbackStatusAsync(INanoRunRequests requests, UnitDefinition unit, string requestId, CancellationToken cancellationToken) =>
        requests.GetCallbackAsync(unit.Name, requestId, cancellationToken);
}
