using System.Text.Json.Serialization;

namespace NanoRun.AspNetCore.Api;

/// <summary>The JSON of <c>POST /{unit}/cancel?state=queued</c>.</summary>
internal sealed class CancelBatchDocument
{
    /// <summary>How many queued requests this call cancelled.</summary>
    public required int Cancelled { get; init; }

    /// <summary>The cancelled requests, earliest arrived first.</summary>
    public required IReadOnlyList<string> Ids { get; init; }

    /// <summary>Whether queued requests remain; call again to cancel the next batch.</summary>
    public required bool More { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(CancelBatchDocument))]
internal sealed partial class BulkJsonContext : JsonSerializerContext;
