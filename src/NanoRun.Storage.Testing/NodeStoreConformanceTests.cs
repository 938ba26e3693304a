using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The <see cref="INodeStore"/> contract: a heartbeat adds or replaces its node's record, nodes are listed by
/// name, and nodes silent since before the forget time are removed; the provider's request store must implement it.</summary>
/// <typeparam name="TWorld">The provider's world.</typeparam>
public abstract class NodeStoreConformanceTests<TWorld> : StoreConformanceTests<TWorld>
    where TWorld : StoreWorld, new()
{
    private INodeStore Nodes => Assert.IsAssignableFrom<INodeStore>(Store);

    /// <summary>Heartbeat: new node, is listed as it reported itself, times to the millisecond.</summary>
    [Fact]
    public async Task Heartbeat_NewNode_IsListedAsReported()
    {
        var node = NewNode("node-a", "host-a:8989", running: 2, "echo", "job");

        await Nodes.HeartbeatAsync(node, Time.GetUtcNow() - TimeSpan.FromDays(1));
        var listed = await Nodes.ListNodesAsync();

        var only = Assert.Single(listed);
        Assert.Equal(node with { Units = [] }, only with { Units = [] });
        Assert.Equal(["echo", "job"], only.Units);
    }

    /// <summary>Heartbeat: same node again, replaces its record instead of adding one.</summary>
    [Fact]
    public async Task Heartbeat_SameNodeAgain_ReplacesItsRecord()
    {
        var first = NewNode("node-a", "host-a:8989", running: 0, "echo");
        await Nodes.HeartbeatAsync(first, Time.GetUtcNow() - TimeSpan.FromDays(1));
        Time.Advance(TimeSpan.FromSeconds(10));
        var second = first with { HeartbeatAt = Time.GetUtcNow(), RunningAttempts = 3, Units = ["echo", "new"] };

        await Nodes.HeartbeatAsync(second, Time.GetUtcNow() - TimeSpan.FromDays(1));
        var listed = await Nodes.ListNodesAsync();

        var only = Assert.Single(listed);
        Assert.Equal(second.HeartbeatAt, only.HeartbeatAt);
        Assert.Equal(first.StartedAt, only.StartedAt);
        Assert.Equal(3, only.RunningAttempts);
        Assert.Equal(["echo", "new"], only.Units);
    }

    /// <summary>Heartbeat: nodes silent since before the forget time, are removed; the others are listed by name, then id.</summary>
    [Fact]
    public async Task Heartbeat_SilentNodes_AreForgottenOthersListedByName()
    {
        await Nodes.HeartbeatAsync(NewNode("node-old", "host-c:1", running: 0), Time.GetUtcNow() - TimeSpan.FromDays(1));
        Time.Advance(TimeSpan.FromHours(2));
        await Nodes.HeartbeatAsync(NewNode("node-b", "host-b:1", running: 0), Time.GetUtcNow() - TimeSpan.FromDays(1));
        await Nodes.HeartbeatAsync(NewNode("node-a2", "host-a:1", running: 0), Time.GetUtcNow() - TimeSpan.FromDays(1));

        await Nodes.HeartbeatAsync(NewNode("node-a1", "host-a:1", running: 1, "echo"), Time.GetUtcNow() - TimeSpan.FromHours(1));
        var listed = await Nodes.ListNodesAsync();

        Assert.Equal(["node-a1", "node-a2", "node-b"], listed.Select(n => n.Id));
    }

    private NodeRecord NewNode(string id, string name, int running, params string[] units) =>
        new(id, name, "1.2.3", Time.GetUtcNow() - TimeSpan.FromMinutes(5), Time.GetUtcNow(), running, units);
}
