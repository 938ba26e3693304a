using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.AspNetCore.Ui;
using NanoRun.Queue;

namespace NanoRun.AspNetCore.Api;

/// <summary><c>GET {prefix}/nodes</c>: the nodes serving the store, for whoever may see the UI.</summary>
internal static class NodeEndpoints
{
    /// <summary>
    /// Answers the node list as JSON; 404 when the UI is not served (the list belongs to it), 401 when the UI has a login
    /// and the caller is not signed in to it.
    /// </summary>
    public static async Task ListAsync(HttpContext context)
    {
        if (context.RequestServices.GetService<UiOptions>() is null)
        {
            await ProblemResponses.WriteAsync(context, StatusCodes.Status404NotFound, "the node list belongs to the UI, which this server does not serve").ConfigureAwait(false);
            return;
        }

        if (!await NodeList.MaySeeAsync(context).ConfigureAwait(false))
        {
            await ProblemResponses.WriteAsync(context, StatusCodes.Status401Unauthorized, "the node list needs the UI's sign-in").ConfigureAwait(false);
            return;
        }

        var rows = await NodeList.ReadAsync(context).ConfigureAwait(false) ?? [];
        var options = context.RequestServices.GetRequiredService<EngineOptions>();
        var nodes = new List<NodeDocument>(rows.Count);
        foreach (var row in rows)
        {
            var node = row.Node;
            nodes.Add(new NodeDocument
            {
                Id = node.Id,
                Name = node.Name,
                Version = node.Version,
                StartedAt = node.StartedAt,
                HeartbeatAt = node.HeartbeatAt,
                RunningAttempts = node.RunningAttempts,
                Units = node.Units,
                Gone = row.Gone,
                Self = node.Id == options.NodeId,
            });
        }

        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        var document = new NodeListDocument { Nodes = nodes, LeaseSeconds = (long)options.LeaseDuration.TotalSeconds };
        await JsonSerializer.SerializeAsync(context.Response.Body, document, NodeJsonContext.Default.NodeListDocument, context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>The JSON of <c>GET /nodes</c>.</summary>
internal sealed class NodeListDocument
{
    public required List<NodeDocument> Nodes { get; init; }

    /// <summary>The lease in seconds: a node silent for longer is gone.</summary>
    public required long LeaseSeconds { get; init; }
}

/// <summary>One node inside <see cref="NodeListDocument"/>.</summary>
internal sealed class NodeDocument
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Version { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required DateTimeOffset HeartbeatAt { get; init; }

    public required int RunningAttempts { get; init; }

    public required IReadOnlyList<string> Units { get; init; }

    /// <summary>Whether the node has been silent for longer than the lease; its running requests go back to the queue.</summary>
    public required bool Gone { get; init; }

    /// <summary>Whether this is the node that answered.</summary>
    public required bool Self { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(NodeListDocument))]
internal sealed partial class NodeJsonContext : JsonSerializerContext;
