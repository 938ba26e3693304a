using System.Text.Json.Serialization;

namespace NanoRun.AspNetCore.Api;

/// <summary>The JSON of <c>GET /{unit}/</c>: one page of a unit's requests, newest first.</summary>
internal sealed class RequestListDocument
{
    public required string Unit { get; init; }

    public required string? State { get; init; }

    /// <summary>Whether the unit is paused: its requests are stored but no attempt starts.</summary>
    public required bool Paused { get; init; }

    public required List<RequestSummaryDocument> Requests { get; init; }

    /// <summary>The <c>before</c> cursor of the next (older) page, or <c>null</c> on the last page.</summary>
    public required string? Next { get; init; }
}

/// <summary>One request inside <see cref="RequestListDocument"/>.</summary>
internal sealed class RequestSummaryDocument
{
    public required string Id { get; init; }

    public required string Outcome { get; init; }

    public required bool Complete { get; init; }

    public required int Attempts { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? CompleteAt { get; init; }

    /// <summary>Milliseconds from receipt to the start of the first attempt, or <c>null</c> before any attempt.</summary>
    public long? WaitedMs { get; init; }

    /// <summary>Milliseconds the attempts ran, added up, without the waits between them.</summary>
    public required long RanMs { get; init; }
}

/// <summary>The JSON of <c>POST /{unit}/failed/retry</c>.</summary>
internal sealed class ReplayDocument
{
    public required List<ReplayItemDocument> Replayed { get; init; }

    /// <summary>The <c>before</c> cursor of the next batch, or <c>null</c> when no older failed request exists.</summary>
    public required string? Next { get; init; }

    /// <summary>How many new requests this call queued (replays stored by earlier calls are not counted).</summary>
    public required int Queued { get; init; }

    /// <summary>Why the batch stopped before its end, or <c>null</c> when every failed request in it was handled.</summary>
    public required RefusalDocument? Refused { get; init; }
}

/// <summary>An admission refusal inside a JSON answer.</summary>
internal sealed class RefusalDocument
{
    /// <summary><c>rate</c>, <c>queue_full</c>, <c>disk_low</c> or <c>disk_full</c>.</summary>
    public required string Reason { get; init; }

    public required string Message { get; init; }

    /// <summary>Seconds to wait before calling again.</summary>
    public required long RetryAfter { get; init; }
}

/// <summary>One failed request inside <see cref="ReplayDocument"/>.</summary>
internal sealed class ReplayItemDocument
{
    public required string Id { get; init; }

    public required string? NewId { get; init; }

    public required bool AlreadyReplayed { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(RequestListDocument))]
[JsonSerializable(typeof(ReplayDocument))]
internal sealed partial class ListJsonContext : JsonSerializerContext;
