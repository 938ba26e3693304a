using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Control;

using static NanoRun.AspNetCore.Ui.UiEndpoints;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The UI's buttons that pause and resume a unit or a schedule entry and run an entry now; each is one <see cref="IUnitControl"/> call.</summary>
internal sealed class UiControlEndpoints(UiEndpoints ui)
{
    /// <summary>The query parameters of the schedules page that name the request a "Run now" queued.</summary>
    internal const string QueuedUnitParameter = "queued_unit";

    /// <inheritdoc cref="QueuedUnitParameter"/>
    internal const string QueuedIdParameter = "queued";

    /// <summary><c>POST /units/{unit}/pause</c>: the unit starts no attempt until it is resumed; back to the unit page.</summary>
    public Task PauseAsync(HttpContext context) => SetUnitAsync(context, paused: true);

    /// <summary><c>POST /units/{unit}/resume</c>: the unit starts its waiting requests again; back to the unit page.</summary>
    public Task ResumeAsync(HttpContext context) => SetUnitAsync(context, paused: false);

    /// <summary><c>POST /schedules/{unit}/{entry}/pause</c>: the entry's ticks queue nothing until it is resumed; back to the schedules page.</summary>
    public Task PauseScheduleAsync(HttpContext context) => SetScheduleAsync(context, paused: true);

    /// <summary><c>POST /schedules/{unit}/{entry}/resume</c>: the entry's next ticks queue requests again; back to the schedules page.</summary>
    public Task ResumeScheduleAsync(HttpContext context) => SetScheduleAsync(context, paused: false);

    /// <summary><c>POST /schedules/{unit}/{entry}/trigger</c>: queues one request of the entry now; back to the schedules page, which names it.</summary>
    public async Task TriggerScheduleAsync(HttpContext context)
    {
        if (await ui.EnterUnitAsync(context, form: true).ConfigureAwait(false) is not var (session, unit))
        {
            return;
        }

        var entry = Entry(context);
        var result = await Control(context).TriggerScheduleAsync(unit.Name, entry, context.RequestAborted).ConfigureAwait(false);
        if (result is not { } enqueue)
        {
            await NotFoundAsync(context, session, "No schedule entry of that name in this unit.").ConfigureAwait(false);
            return;
        }

        if (enqueue.Id is not { } id)
        {
            await UiFormEndpoints.NotQueuedAsync(context, session, enqueue.Admission, session.Schedules).ConfigureAwait(false);
            return;
        }

        Redirect(context, session.Schedules + "?" + QueuedUnitParameter + "=" + Uri.EscapeDataString(unit.Name) + "&" + QueuedIdParameter + "=" + id);
    }

    /// <summary>Whether the unit is paused; not paused when the host registered no control.</summary>
    internal static async Task<PauseStatus> UnitStatusAsync(HttpContext context, string unit) =>
        context.RequestServices.GetService<IUnitControl>() is { } control
            && await control.GetAsync(unit, context.RequestAborted).ConfigureAwait(false) is { } status
                ? status
                : NotPaused;

    /// <summary>The rows with each entry's pause state filled in.</summary>
    internal static async Task<List<ScheduleRow>> WithPauseAsync(HttpContext context, List<ScheduleRow> rows)
    {
        if (context.RequestServices.GetService<IUnitControl>() is not { } control)
        {
            return rows;
        }

        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var status = await control.GetScheduleAsync(row.Unit.Name, row.Label, context.RequestAborted).ConfigureAwait(false);
            rows[i] = row with { Pause = status ?? NotPaused };
        }

        return rows;
    }

    private static readonly PauseStatus NotPaused = new(false, null);

    private async Task SetUnitAsync(HttpContext context, bool paused)
    {
        if (await ui.EnterUnitAsync(context, form: true).ConfigureAwait(false) is not var (session, unit))
        {
            return;
        }

        var control = Control(context);
        var status = paused
            ? await control.PauseAsync(unit.Name, context.RequestAborted).ConfigureAwait(false)
            : await control.ResumeAsync(unit.Name, context.RequestAborted).ConfigureAwait(false);
        if (status is null)
        {
            await NotFoundAsync(context, session, "No unit of that name.").ConfigureAwait(false);
            return;
        }

        Redirect(context, session.Unit(unit.Name));
    }

    private async Task SetScheduleAsync(HttpContext context, bool paused)
    {
        if (await ui.EnterUnitAsync(context, form: true).ConfigureAwait(false) is not var (session, unit))
        {
            return;
        }

        var entry = Entry(context);
        var control = Control(context);
        var status = paused
            ? await control.PauseScheduleAsync(unit.Name, entry, context.RequestAborted).ConfigureAwait(false)
            : await control.ResumeScheduleAsync(unit.Name, entry, context.RequestAborted).ConfigureAwait(false);
        if (status is null)
        {
            await NotFoundAsync(context, session, "No schedule entry of that name in this unit.").ConfigureAwait(false);
            return;
        }

        Redirect(context, session.Schedules);
    }

    private static string Entry(HttpContext context) => context.Request.RouteValues["entry"] as string ?? string.Empty;

    private static IUnitControl Control(HttpContext context) => context.RequestServices.GetRequiredService<IUnitControl>();

    private static void Redirect(HttpContext context, string location)
    {
        context.Response.Redirect(location);
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }
}
