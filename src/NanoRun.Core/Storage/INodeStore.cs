namespace NanoRun.Storage;

/// <summary>
/// The nodes that serve one store, each registered by its own heartbeat: a shared store lists every node of the cluster,
/// the embedded store its one node (and earlier runs of it, until they are forgotten).
/// </summary>
/// <remarks>A store that implements this gets a heartbeat from every node that runs the engine on it.</remarks>
public interface INodeStore
{
    /// <summary>
    /// Saves <paramref name="node"/> under its <see cref="NodeRecord.Id"/> (added on its first heartbeat, replaced on each
    /// later one) and removes the nodes whose last heartbeat is before <paramref name="forgetBefore"/>.
    /// </summary>
    Task HeartbeatAsync(NodeRecord node, DateTimeOffset forgetBefore, CancellationToken cancellationToken = default);

    /// <summary>Returns every registered node, by name and then by id.</summary>
    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default);
}

/// <summary>One node as its last heartbeat described it.</summary>
/// <param name="Id">The node's id, the owner of its leases; new for every process.</param>
/// <param name="Name">The name an operator gave the node (<c>node_name</c>), by default its host name and port.</param>
/// <param name="Version">The product version the node runs.</param>
/// <param name="StartedAt">When the node's engine started.</param>
/// <param name="HeartbeatAt">When the node last wrote this record; a node silent for longer than the lease is gone.</param>
/// <param name="RunningAttempts">How many attempts ran on the node at its last heartbeat.</param>
/// <param name="Units">The names of the units the node serves, in order.</param>
public sealed record NodeRecord(
    string Id,
    string Name,
    string Version,
    DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt,
    int RunningAttempts,
    IReadOnlyList<string> Units);
