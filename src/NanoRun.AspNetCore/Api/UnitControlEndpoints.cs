using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Control;

using static NanoRun.AspNetCore.Api.RequestEndpoints;

namespace NanoRun.AspNetCore.Api;

/// <summary>The handlers that pause and resume a unit or a schedule entry, and run a schedule entry now; each adapts HTTP to one <see cref="IUnitControl"/> call.</summary>
internal static class UnitControlEndpoints
{
    /// <summary><c>POST /{unit}/pause</c>: the unit starts no attempt until it is resumed; answers its state.</summary>
    public static Task PauseAsync(HttpContext context) => SetUnitAsync(context, paused: true);

    /// <summary><c>POST /{unit}/resume</c>: the unit starts its waiting requests again at once; answers its state.</summary>
    public static Task ResumeAsync(HttpContext context) => SetUnitAsync(context, paused: false);

    /// <summary><c>POST /{unit}/schedules/{entry}/pause</c>: the entry's ticks queue nothing until it is resumed; answers its state.</summary>
    public static Task PauseScheduleAsync(HttpContext context) => SetScheduleAsync(context, paused: true);

    /// <summary><c>POST /{unit}/schedules/{entry}/resume</c>: the entry's next ticks queue requests again; answers its state.</summary>
    public static Task ResumeScheduleAsync(HttpContext context) => SetScheduleAsync(context, paused: false);

    /// <summary><c>POST /{unit}/schedules/{entry}/trigger</c>: queues one request of the entry now, as a tick would; 303 to it.</summary>
    public static async Task TriggerScheduleAsync(HttpContext context)
    {
        var (unit, _) = await ResolveAsync(context, forNewRequest: true, bodyFollows: false).ConfigureAwait(false);
        if (unit is null)
        {
            return;
        }

        var entry = context.Request.RouteValues["entry"] as string ?? string.Empty;
        var result = await Control(context).TriggerScheduleAsync(unit.Name, entry, context.RequestAborted).ConfigureAwait(false);
        if (result is not { } enqueue)
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, NoSuchEntry(unit.Name, entry)).ConfigureAwait(false);
            return;
        }

        if (enqueue.Id is not { } id)
        {
            // A run-now is a new request: the same admission rule as POST, the same answer.
            await AdmissionResponses.WriteAsync(context, enqueue.Admission).ConfigureAwait(false);
            return;
        }

        context.Response.Headers["X-Correlation-Id"] = id;
        context.Response.Headers.Location = LocationFor(context, unit.Name, id);
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    /// <summary>Whether the unit is paused, for its list answer; <c>false</c> when the host registered no control.</summary>
    internal static async ValueTask<PauseStatus> UnitStatusAsync(HttpContext context, string unit) =>
        context.RequestServices.GetService<IUnitControl>() is { } control
            && await control.GetAsync(unit, context.RequestAborted).ConfigureAwait(false) is { } status
                ? status
                : new PauseStatus(false, null);

    private static async Task SetUnitAsync(HttpContext context, bool paused)
    {
        var (unit, _) = await ResolveAsync(context, forNewRequest: true, bodyFollows: false).ConfigureAwait(false);
        if (unit is null)
        {
            return;
        }

        var control = Control(context);
        var status = paused
            ? await control.PauseAsync(unit.Name, context.RequestAborted).ConfigureAwait(false)
            : await control.ResumeAsync(unit.Name, context.RequestAborted).ConfigureAwait(false);
        if (status is null)
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, "unit '" + unit.Name + "' is not served").ConfigureAwait(false);
            return;
        }

        await WriteAsync(context, new PauseDocument { Unit = unit.Name, Schedule = null, Paused = status.Paused, PausedSince = status.Since }).ConfigureAwait(false);
    }

    private static async Task SetScheduleAsync(HttpContext context, bool paused)
    {
        var (unit, _) = await ResolveAsync(context, forNewRequest: true, bodyFollows: false).ConfigureAwait(false);
        if (unit is null)
        {
            return;
        }

        var entry = context.Request.RouteValues["entry"] as string ?? string.Empty;
        var control = Control(context);
        var status = paused
            ? await control.PauseScheduleAsync(unit.Name, entry, context.RequestAborted).ConfigureAwait(false)
            : await control.ResumeScheduleAsync(unit.Name, entry, context.RequestAborted).ConfigureAwait(false);
        if (status is null)
        {
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, NoSuchEntry(unit.Name, entry)).ConfigureAwait(false);
            return;
        }

        await WriteAsync(context, new PauseDocument { Unit = unit.Name, Schedule = entry, Paused = status.Paused, PausedSince = status.Since }).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext context, PauseDocument document)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, document, PauseJsonContext.Default.PauseDocument, context.RequestAborted).ConfigureAwait(false);
    }

    private static string NoSuchEntry(string unit, string entry) =>
        "unit '" + unit + "' has no schedule entry '" + entry + "' (an entry's name, or its position in the cron list from 0)";

    private static IUnitControl Control(HttpContext context) => context.RequestServices.GetRequiredService<IUnitControl>();
}

/// <summary>The JSON of the pause and resume routes: whether the unit or schedule entry is paused, and since when.</summary>
internal sealed class PauseDocument
{
    public required string Unit { get; init; }

    /// <summary>The schedule entry's label, left out for the unit itself.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public required string? Schedule { get; init; }

    public required bool Paused { get; init; }

    public required DateTimeOffset? PausedSince { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(PauseDocument))]
internal sealed partial class PauseJsonContext : JsonSerializerContext;
