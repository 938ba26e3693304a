using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Ui;

/// <summary>A unit's charts as drawn SVG, ready for a page; each is <c>null</c> when the store counts no activity.</summary>
/// <param name="Hour">Requests per minute over the last hour.</param>
/// <param name="Day">Requests per hour over the last day.</param>
internal sealed record UnitCharts(IHtmlContent? Hour, IHtmlContent? Day);

/// <summary>Reads a unit's activity from the store (one bounded query per chart) and draws it with <see cref="ActivityChart"/>.</summary>
internal static class UnitActivity
{
    /// <summary>The unit page's two charts: per minute for the last hour, per hour for the last day.</summary>
    public static async Task<UnitCharts> ReadAsync(HttpContext context, UiSession session, UnitDefinition unit)
    {
        var hour = await DrawAsync(context, session, unit, TimeSpan.FromMinutes(1), 60, "Requests per minute, last hour", small: false).ConfigureAwait(false);
        var day = await DrawAsync(context, session, unit, TimeSpan.FromHours(1), 24, "Requests per hour, last day", small: false).ConfigureAwait(false);
        return new UnitCharts(hour, day);
    }

    /// <summary>The overview's small chart of a unit: per hour for the last day.</summary>
    public static Task<IHtmlContent?> ReadSmallAsync(HttpContext context, UiSession session, UnitDefinition unit) =>
        DrawAsync(context, session, unit, TimeSpan.FromHours(1), 24, "Requests per hour, last day", small: true);

    private static async Task<IHtmlContent?> DrawAsync(HttpContext context, UiSession session, UnitDefinition unit, TimeSpan width, int buckets, string title, bool small)
    {
        if (context.RequestServices.GetRequiredService<IRequestStore>() is not IActivityStore store)
        {
            return null;
        }

        // The last bucket is the current one, still filling; bucket edges fall on whole minutes or hours.
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var end = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % width.Ticks), TimeSpan.Zero) + width;
        var from = end - (width * buckets);
        var counts = await store.CountActivityAsync(new ActivityParams(unit.Name, from, width, buckets), context.RequestAborted).ConfigureAwait(false);
        var failedHref = session.Unit(unit.Name) + "?state=" + RequestState.Failed.ToWire();
        return new HtmlString(ActivityChart.Render(counts, from, width, title, failedHref, small));
    }
}
