using Microsoft.Extensions.Logging;
using NanoRun.Execution;
using NanoRun.Queue;
using NanoRun.Storage;

namespace NanoRun.Maintenance;

/// <summary>
/// Every third of the lease duration, renews the leases of the attempts running on this node and puts requests whose
/// lease expired (their node died or lost the store) back in the queue.
/// </summary>
internal sealed class LeaseKeeper : BackgroundRole
{
    private readonly IRequestStore _store;
    private readonly AttemptExecutor _executor;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;

    // The ids renewed in one pass; owned by the loop.
    private readonly List<string> _ids = [];

    public LeaseKeeper(IRequestStore store, AttemptExecutor executor, EngineOptions options, TimeProvider time, ILogger logger)
        : base(time)
    {
        _store = store;
        _executor = executor;
        _options = options;
        _logger = logger;
    }

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        Run(LoopAsync);
        return Task.CompletedTask;
    }

    // A pass waits before its work, so a failed pass needs no further pause.
    private Task LoopAsync(CancellationToken stop) =>
        RepeatAsync(RenewOnceAsync, e => LogLoopError(_logger, "lease keeper", e), Backoff.None, stop);

    private async Task RenewOnceAsync(CancellationToken stop)
    {
        await Task.Delay(_options.LeaseDuration / 3, Time, stop).ConfigureAwait(false);
        _executor.CopyRunningIds(_ids);
        var now = Time.GetUtcNow();
        if (_ids.Count > 0)
        {
            await _store.RenewLeasesAsync(_ids, _options.NodeId, now + _options.LeaseDuration, stop).ConfigureAwait(false);
        }

        await _store.RequeueExpiredAsync(now, stop).ConfigureAwait(false);
    }
}
