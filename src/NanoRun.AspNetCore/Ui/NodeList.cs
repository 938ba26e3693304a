using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Queue;
using NanoRun.Storage;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The nodes serving the store as the UI and <c>GET /api/nodes</c> show them, and who may see them.</summary>
internal static class NodeList
{
    /// <summary>
    /// The store's nodes, each marked gone when its last heartbeat is older than the lease (its running requests go back
    /// to the queue then); <c>null</c> when the store keeps no node list.
    /// </summary>
    public static async Task<IReadOnlyList<NodeRow>?> ReadAsync(HttpContext context)
    {
        var services = context.RequestServices;
        if (services.GetRequiredService<IRequestStore>() is not INodeStore store)
        {
            return null;
        }

        var lease = services.GetRequiredService<EngineOptions>().LeaseDuration;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var nodes = await store.ListNodesAsync(context.RequestAborted).ConfigureAwait(false);
        var rows = new List<NodeRow>(nodes.Count);
        foreach (var node in nodes)
        {
            rows.Add(new NodeRow(node, now - node.HeartbeatAt > lease));
        }

        return rows;
    }

    /// <summary>
    /// Whether the caller may see the node list, as it may see the UI: the UI is served (<c>AddUi</c>) and, when it has a
    /// login, the caller is signed in as an allowed user.
    /// </summary>
    public static async Task<bool> MaySeeAsync(HttpContext context)
    {
        if (context.RequestServices.GetService<UiOptions>() is not { } options)
        {
            return false;
        }

        if (options.Auth is not { } auth)
        {
            return true;
        }

        var result = await context.AuthenticateAsync(UiSession.Scheme).ConfigureAwait(false);
        return result.Principal?.Identity?.Name is { } login && UiEndpoints.IsAllowed(auth, login);
    }
}
