using System.Reflection;
using Microsoft.Extensions.Logging;
using NanoRun.Execution;
using NanoRun.Queue;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Maintenance;

/// <summary>
/// Registers this node in a store that lists nodes (<see cref="INodeStore"/>) and writes its heartbeat every third of
/// the lease duration: name, version, start time, running attempts and units. Nodes silent for a day are forgotten.
/// </summary>
internal sealed class NodeHeartbeat : BackgroundRole
{
    /// <summary>How long a node that stopped beating stays listed (as gone) before the store forgets it.</summary>
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromDays(1);

    private readonly INodeStore _nodes;
    private readonly UnitCatalog _units;
    private readonly AttemptExecutor _executor;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private DateTimeOffset _startedAt;

    public NodeHeartbeat(INodeStore nodes, UnitCatalog units, AttemptExecutor executor, EngineOptions options, TimeProvider time, ILogger logger)
        : base(time)
    {
        _nodes = nodes;
        _units = units;
        _executor = executor;
        _options = options;
        _logger = logger;
    }

    /// <summary>The product version every node reports: the informational version of the engine's assembly, without build metadata.</summary>
    public static string Version { get; } = ReadVersion();

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        _startedAt = Time.GetUtcNow();
        Run(LoopAsync);
        return Task.CompletedTask;
    }

    private Task LoopAsync(CancellationToken stop) =>
        RepeatAsync(BeatAsync, e => LogLoopError(_logger, "node heartbeat", e), Backoff.None, stop);

    // The first beat goes out at once, so a node is listed as soon as it runs; a failed beat waits for the next period.
    private async Task BeatAsync(CancellationToken stop)
    {
        try
        {
            var now = Time.GetUtcNow();
            var units = new List<string>(_units.All.Count);
            foreach (var unit in _units.All)
            {
                units.Add(unit.Name);
            }

            units.Sort(StringComparer.Ordinal);
            var node = new NodeRecord(_options.NodeId, _options.NodeName, Version, _startedAt, now, _executor.RunningCount, units);
            await _nodes.HeartbeatAsync(node, now - ForgetAfter, stop).ConfigureAwait(false);
        }
        finally
        {
            await Task.Delay(_options.LeaseDuration / 3, Time, stop).ConfigureAwait(false);
        }
    }

    private static string ReadVersion()
    {
        var version = typeof(NodeHeartbeat).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
