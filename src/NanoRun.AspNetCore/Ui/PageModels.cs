using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Ui;

/// <summary>What the shared page frame shows: title, navigation, the user and whether the page refreshes itself.</summary>
/// <param name="Title">The page title.</param>
/// <param name="Session">Links, user and form token.</param>
/// <param name="Section">The navigation entry to mark: <c>units</c>, <c>schedules</c> or none.</param>
/// <param name="RefreshSeconds">When set, the page reloads itself after this many seconds (with scripts on).</param>
internal sealed record LayoutModel(string Title, UiSession Session, string? Section = null, int? RefreshSeconds = null);

/// <summary>One line of the units list.</summary>
internal sealed record UnitRow(UnitDefinition Unit, StateCounts Counts)
{
    /// <summary>The unit's small chart of the last day; <c>null</c> when the store counts no activity.</summary>
    public Microsoft.AspNetCore.Html.IHtmlContent? Chart { get; init; }

    /// <summary>Whether the unit is paused; not paused by default.</summary>
    public NanoRun.Control.PauseStatus Pause { get; init; } = new(false, null);
}

/// <summary>The units list.</summary>
internal sealed record UnitsPageModel(LayoutModel Layout, IReadOnlyList<UnitRow> Units);

/// <summary>A unit: its configuration, a submit form and one page of its requests.</summary>
/// <param name="Layout">The frame.</param>
/// <param name="Unit">The unit.</param>
/// <param name="Counts">Its requests by state.</param>
/// <param name="Requests">This page of requests, newest first.</param>
/// <param name="Filter">The state the list is limited to, or <c>null</c> for all.</param>
/// <param name="OlderHref">Link to the next (older) page, or <c>null</c> on the last page.</param>
/// <param name="NewestHref">Link back to the first page, or <c>null</c> when this is it.</param>
/// <param name="Now">The current time, for ages.</param>
/// <param name="Schedules">The unit's schedule entries with next tick and last request.</param>
internal sealed record UnitPageModel(
    LayoutModel Layout,
    UnitDefinition Unit,
    StateCounts Counts,
    IReadOnlyList<RequestSummary> Requests,
    RequestState? Filter,
    string? OlderHref,
    string? NewestHref,
    DateTimeOffset Now,
    IReadOnlyList<ScheduleRow> Schedules)
{
    /// <summary>The filter links: label, state (null = all).</summary>
    public static IReadOnlyList<RequestState?> Filters { get; } =
        [null, RequestState.Queued, RequestState.Running, RequestState.Retrying, RequestState.Succeeded, RequestState.Failed, RequestState.Cancelled];

    /// <summary>The search the list shows the matches of, or <c>null</c> for the unit's requests by state.</summary>
    public string? Query { get; init; }
    /// <summary>The unit's charts; none by default.</summary>
    public UnitCharts Charts { get; init; } = new(null, null);

    /// <summary>Whether the unit is paused, and since when; not paused by default.</summary>
    public NanoRun.Control.PauseStatus Pause { get; init; } = new(false, null);

    public string FilterHref(RequestState? state) =>
        state is { } s ? Layout.Session.Unit(Unit.Name) + "?state=" + s.ToWire() : Layout.Session.Unit(Unit.Name);
}

/// <summary>The overview's search: the matches of each unit the viewer may see, in unit name order.</summary>
/// <param name="Layout">The frame.</param>
/// <param name="Query">The search text as typed, trimmed.</param>
/// <param name="Groups">The units with matches; empty when nothing matches.</param>
/// <param name="Now">The current time, for ages.</param>
internal sealed record SearchPageModel(LayoutModel Layout, string Query, IReadOnlyList<SearchGroup> Groups, DateTimeOffset Now)
{
    /// <summary>The unit page's own search for the same text, which pages through all its matches.</summary>
    public string UnitSearchHref(UnitDefinition unit) => Layout.Session.Unit(unit.Name) + "?q=" + Uri.EscapeDataString(Query);
}

/// <summary>One unit's part of the search page.</summary>
/// <param name="Unit">The unit.</param>
/// <param name="Requests">Its newest matches, at most <see cref="UiSearchEndpoints.PerUnit"/>.</param>
/// <param name="More">Whether the unit has more matches than listed.</param>
internal sealed record SearchGroup(UnitDefinition Unit, IReadOnlyList<RequestSummary> Requests, bool More);

/// <summary>One request with its attempts and payload.</summary>
internal sealed record RequestPageModel(LayoutModel Layout, UnitDefinition Unit, RequestRecord Record, BodyPreview Payload, DateTimeOffset Now)
{
    public string Href => Layout.Session.Request(Unit.Name, Record.Id);

    /// <summary>The attempt running on this node, whose output can be followed; <c>null</c> when none.</summary>
    public (string Id, int Number)? Running { get; init; }

    /// <summary>The completion callback's delivery state; <c>null</c> when the request has none.</summary>
    public CallbackStatus? Callback { get; init; }

    /// <summary>What the last attempt kept of stderr; <c>null</c> when it kept none or there is no attempt.</summary>
    public BodyPreview? LastStderr { get; init; }

    /// <summary>The attempts' durations added up.</summary>
    public TimeSpan Ran
    {
        get
        {
            var ran = TimeSpan.Zero;
            foreach (var attempt in Record.Attempts)
            {
                ran += attempt.CreatedAt - attempt.StartedAt;
            }

            return ran;
        }
    }
}

/// <summary>One attempt with its result.</summary>
internal sealed record AttemptPageModel(LayoutModel Layout, UnitDefinition Unit, RequestRecord Record, AttemptRecord Attempt, BodyPreview Result)
{
    public string Href => Layout.Session.Attempt(Unit.Name, Record.Id, Attempt.Id);

    /// <summary>Whether the attempt is still running on this node: the page follows its output from <c>Href/stream</c>.</summary>
    public bool Running { get; init; }

    /// <summary>What the attempt kept of stderr; empty by default.</summary>
    public BodyPreview Stderr { get; init; } = new(0, null, false, false);
}

/// <summary>One schedule entry and the unit it queues requests for.</summary>
/// <param name="Unit">The unit.</param>
/// <param name="Entry">The entry.</param>
/// <param name="Index">Its 0-based position in the unit's <c>cron</c> list.</param>
/// <param name="NextTick">The entry's next tick, or <c>null</c> when it has none.</param>
/// <param name="LastRequestId">The request this node last queued for the entry, or <c>null</c> since start.</param>
internal sealed record ScheduleRow(UnitDefinition Unit, CronEntry Entry, int Index, DateTimeOffset? NextTick, string? LastRequestId)
{
    /// <summary>The entry's label in links and the control calls: its name, or its position.</summary>
    public string Label => Entry.Name ?? Index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether the entry is paused; not paused by default.</summary>
    public NanoRun.Control.PauseStatus Pause { get; init; } = new(false, null);
}

/// <summary>Every schedule entry of every unit.</summary>
internal sealed record SchedulesPageModel(LayoutModel Layout, IReadOnlyList<ScheduleRow> Entries)
{
    /// <summary>The request a "Run now" just queued (its unit and id), or <c>null</c>.</summary>
    public (string Unit, string Id)? Queued { get; init; }
}

/// <summary>The nodes serving the store, by name.</summary>
/// <param name="Layout">The frame.</param>
/// <param name="Nodes">Each node with whether it is gone; <c>null</c> when the store keeps no node list.</param>
/// <param name="Lease">How long a node may stay silent before it is shown as gone.</param>
/// <param name="ThisNode">The id of the node that serves this page.</param>
internal sealed record NodesPageModel(LayoutModel Layout, IReadOnlyList<NodeRow>? Nodes, TimeSpan Lease, string ThisNode);

/// <summary>One node as its last heartbeat described it.</summary>
/// <param name="Node">The stored record.</param>
/// <param name="Gone">Whether the node has been silent for longer than the lease; its running requests go back to the queue.</param>
internal sealed record NodeRow(NanoRun.Storage.NodeRecord Node, bool Gone);

/// <summary>The login page.</summary>
/// <param name="Layout">The frame.</param>
/// <param name="Provider">The provider's title.</param>
/// <param name="Icon">Optional icon URL of the provider.</param>
/// <param name="StartHref">Link that starts the login.</param>
/// <param name="Message">A note to show, such as why the last login failed.</param>
internal sealed record LoginPageModel(LayoutModel Layout, string Provider, string? Icon, string StartHref, string? Message);

/// <summary>A page that only says something: not found, forbidden, refused.</summary>
internal sealed record MessagePageModel(LayoutModel Layout, string Heading, string Text, string? BackHref = null);
