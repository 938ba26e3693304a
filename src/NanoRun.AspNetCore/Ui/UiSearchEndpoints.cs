using Microsoft.AspNetCore.Http;
using NanoRun.Requests;
using NanoRun.Storage;

using static NanoRun.AspNetCore.Ui.UiEndpoints;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The overview's search: a whole request id opens that request, other text lists the matches of every unit the viewer may see.</summary>
internal sealed class UiSearchEndpoints(UiEndpoints ui)
{
    /// <summary>Most matches listed per unit (20); the unit page's own search pages through the rest.</summary>
    public const int PerUnit = 20;

    /// <summary>
    /// <c>GET /search?q=</c>: a whole request id opens that request in whichever unit holds it. Other text (or an id
    /// that no visible unit holds) answers a page that lists, per unit in name order, the newest matches of the unit's
    /// own search, with a link to the rest on the unit page; units the UI hides are not searched.
    /// </summary>
    public async Task SearchAsync(HttpContext context)
    {
        var session = await ui.EnterAsync(context, form: false).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        var text = context.Request.Query["q"].ToString().Trim();
        if (text.Length == 0)
        {
            context.Response.Redirect(session.Home);
            return;
        }

        var requests = UiEndpoints.Requests(context);
        var units = UiEndpoints.Units(context);
        var id = text.ToLowerInvariant();
        if (RequestId.IsValid(id)
            && await requests.GetAsync(id, context.RequestAborted).ConfigureAwait(false) is { } record
            && units.Find(record.Unit) is { } owner
            && !IsHidden(context, owner))
        {
            context.Response.Redirect(session.Request(owner.Name, record.Id));
            return;
        }

        var groups = new List<SearchGroup>();
        foreach (var unit in units.All.OrderBy(u => u.Name, StringComparer.Ordinal))
        {
            if (IsHidden(context, unit))
            {
                continue;
            }

            // One more than shown is read only to learn whether the unit has more matches.
            var matches = new List<RequestSummary>(PerUnit + 1);
            await foreach (var summary in requests.SearchAsync(new SearchParams(unit.Name, text, PerUnit + 1), context.RequestAborted).ConfigureAwait(false))
            {
                matches.Add(summary);
            }

            if (matches.Count == 0)
            {
                continue;
            }

            var more = matches.Count > PerUnit;
            if (more)
            {
                matches.RemoveAt(PerUnit);
            }

            groups.Add(new SearchGroup(unit, matches, more));
        }

        var model = new SearchPageModel(new LayoutModel("Search", session, "units"), text, groups, Time(context).GetUtcNow());
        await RenderAsync(context, Pages.Search(model)).ConfigureAwait(false);
    }
}
