using Microsoft.AspNetCore.Http;
using NanoRun.AspNetCore.Api;
using NanoRun.Queue;
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

        await RequestEndpoints.StreamOutputAsync(context, Engine(context), record, context.Request.RouteValues["attemptId"] as string).ConfigureAwait(false);
    }

    /// <summary>The attempt named by the route when it is running on this node, as a placeholder record; otherwise <c>null</c>.</summary>
    private static AttemptRecord? RunningAttempt(HttpContext context, RequestRecord record)
    {
        var live = Engine(context).LiveOutputs.Find(record.Id);
        return live is not null && string.Equals(live.AttemptId, context.Request.RouteValues["attemptId"] as string, StringComparison.Ordinal)
            ? new AttemptRecord(live.AttemptId, live.Number, 0, [], BodyRef.Empty, live.StartedAt, live.StartedAt)
            : null;
    }

    private static async Task<CallbackStatus?> CallbackStatusAsync(NanoRunEngine engine, UnitDefinition unit, string requestId, CancellationToken cancellationToken) =>
        (unit.Callback is not null || unit.AllowCallbackUrl) && engine.Store is ICallbackStore store
            ? await store.GetCallbackAsync(requestId, cancellationToken).ConfigureAwait(false)
            : null;
}
