namespace NanoRun.Storage;

/// <summary>A search through one unit's requests, newest first, after a keyset cursor.</summary>
/// <param name="Unit">Unit name.</param>
/// <param name="Text">
/// What to find, already a term (<see cref="Search.SearchTerms.Normalize"/>: trimmed, lower-case): requests whose id
/// starts with it, and requests that carry it among their <see cref="NewRequest.SearchTerms"/>.
/// </param>
/// <param name="Limit">Page size.</param>
/// <param name="Before">Only requests older than this id (the previous page's last id), or <c>null</c> for the first page.</param>
public sealed record SearchParams(string Unit, string Text, int Limit, string? Before = null);

/// <summary>Which queued requests of a unit to cancel: the earliest arrived first, at most <paramref name="Limit"/> in one call.</summary>
/// <param name="Unit">Unit name.</param>
/// <param name="Limit">Most requests to cancel in this call.</param>
/// <param name="Now">The completion time the cancelled requests get.</param>
public sealed record CancelQueuedParams(string Unit, int Limit, DateTimeOffset Now);

/// <summary>What one bulk cancel did.</summary>
/// <param name="Ids">The requests cancelled, earliest arrived first.</param>
/// <param name="More">Whether queued requests of the unit remained when the call returned.</param>
public sealed record CancelledBatch(IReadOnlyList<string> Ids, bool More);
