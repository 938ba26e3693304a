using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using NanoRun.Requests;
using NanoRun.Storage;

namespace NanoRun.AspNetCore.Api;

/// <summary>The record JSON of <c>GET /{unit}/{id}</c>: the Go tool's fields in snake_case, plus id, unit, outcome and durations.</summary>
internal sealed class RecordDocument
{
    public required string Id { get; init; }

    public required string Unit { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? CompleteAt { get; init; }

    public required bool Complete { get; init; }

    public required string Outcome { get; init; }

    public required string Method { get; init; }

    public required string Uri { get; init; }

    public required Dictionary<string, List<string>> Headers { get; init; }

    public required List<AttemptDocument> Attempts { get; init; }

    /// <summary>When the request was delayed (<c>?delay=</c> or <c>?at=</c>), the earliest time of its first attempt; otherwise <c>null</c>.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Milliseconds from receipt to the start of the first attempt, or <c>null</c> before any attempt.</summary>
    public long? WaitedMs { get; init; }

    /// <summary>Milliseconds the attempts ran, added up, without the waits between them.</summary>
    public required long RanMs { get; init; }

    /// <summary>The attempt running on the node that answers, whose output <c>attempt/{id}/stream</c> follows.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RunningAttemptDocument? RunningAttempt { get; set; }

    /// <summary>Delivery state of the completion callback, when the request has one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CallbackDocument? Callback { get; set; }
}

/// <summary>A completion callback's delivery state, inside <see cref="RecordDocument"/>.</summary>
internal sealed class CallbackDocument
{
    /// <summary><c>pending</c>, <c>delivered</c>, <c>failed</c> or <c>skipped</c>.</summary>
    public required string State { get; init; }

    public required int Attempts { get; init; }

    public int? LastStatus { get; init; }

    public string? LastError { get; init; }
}

/// <summary>An attempt under way, inside <see cref="RecordDocument"/>.</summary>
internal sealed class RunningAttemptDocument
{
    public required string Id { get; init; }

    public required int Number { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required long OutputLength { get; init; }
}

/// <summary>One attempt inside <see cref="RecordDocument"/>.</summary>
internal sealed class AttemptDocument
{
    public required string Id { get; init; }

    public required int Code { get; init; }

    public required Dictionary<string, List<string>> Headers { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required long DurationMs { get; init; }

    public required long ResultLength { get; init; }

    /// <summary>Bytes of stderr kept with the attempt (<c>attempt/{id}/stderr</c>); 0 when none.</summary>
    public required long StderrLength { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(RecordDocument))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

internal static class RecordJson
{
    public static RecordDocument ToDocument(RequestRecord record)
    {
        var attempts = new List<AttemptDocument>(record.Attempts.Count);
        var ran = TimeSpan.Zero;
        foreach (var attempt in record.Attempts)
        {
            ran += attempt.CreatedAt - attempt.StartedAt;
            attempts.Add(new AttemptDocument
            {
                Id = attempt.Id,
                Code = attempt.Code,
                Headers = ToMap(attempt.Headers),
                StartedAt = attempt.StartedAt,
                CreatedAt = attempt.CreatedAt,
                DurationMs = (long)(attempt.CreatedAt - attempt.StartedAt).TotalMilliseconds,
                ResultLength = attempt.Result.Length,
                StderrLength = attempt.Stderr.Length,
            });
        }

        return new RecordDocument
        {
            Id = record.Id,
            Unit = record.Unit,
            CreatedAt = record.CreatedAt,
            CompleteAt = record.CompletedAt,
            Complete = record.State.IsFinal(),
            Outcome = record.State.ToWire(),
            Method = record.Method,
            Uri = record.Uri,
            Headers = ToMap(record.Headers),
            Attempts = attempts,
            NotBefore = record.NotBefore,
            WaitedMs = record.Attempts.Count > 0 ? (long)(record.Attempts[0].StartedAt - record.CreatedAt).TotalMilliseconds : null,
            RanMs = (long)ran.TotalMilliseconds,
        };
    }

    public static Task WriteAsync(HttpResponse response, RequestRecord record, CancellationToken cancellationToken, RunningAttemptDocument? running = null, CallbackDocument? callback = null)
    {
        response.ContentType = "application/json; charset=utf-8";
        var document = ToDocument(record);
        document.RunningAttempt = running;
        document.Callback = callback;
        return JsonSerializer.SerializeAsync(response.Body, document, ApiJsonContext.Default.RecordDocument, cancellationToken);
    }

    /// <summary>Header pairs as the Go tool's map of name to values.</summary>
    private static Dictionary<string, List<string>> ToMap(IReadOnlyList<KeyValuePair<string, string>> pairs)
    {
        var map = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in pairs)
        {
            if (SavedHeaders.IsReserved(pair.Key))
            {
                continue;
            }

            if (!map.TryGetValue(pair.Key, out var values))
            {
                values = [];
                map.Add(pair.Key, values);
            }

            values.Add(pair.Value);
        }

        return map;
    }
}
