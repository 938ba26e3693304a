namespace NanoRun.Queue;

/// <summary>One failed request of a bulk replay and the request that replays it.</summary>
/// <param name="OriginalId">The failed request.</param>
/// <param name="NewId">The request queued with its saved content, or <c>null</c> when its body is no longer stored.</param>
/// <param name="AlreadyReplayed"><c>true</c> when <paramref name="NewId"/> was queued by an earlier replay, so nothing new was queued.</param>
public sealed record ReplayedRequest(string OriginalId, string? NewId, bool AlreadyReplayed);

/// <summary>The outcome of one bounded bulk replay.</summary>
/// <param name="Items">The failed requests looked at, newest first.</param>
/// <param name="Next">The cursor (<c>before</c>) for the next batch, or <c>null</c> when no older failed request exists.</param>
public sealed record ReplayBatch(IReadOnlyList<ReplayedRequest> Items, string? Next)
{
    /// <summary>The admission refusal that stopped the batch, or <c>null</c> when every request was handled.</summary>
    public Admission.AdmissionResult? Refused { get; init; }
}
