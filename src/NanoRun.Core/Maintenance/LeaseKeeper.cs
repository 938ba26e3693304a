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

    // Whether a pass failed since expired leases were last requeued, and when the store answered again; owned by the loop.
    private bool _cutOff;
    private DateTimeOffset? _backSince;

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
        RepeatAsync(RenewOnceAsync, OnPassFailed, Backoff.None, stop);

    private void OnPassFailed(Exception e)
    {
        _cutOff = true;
        _backSince = null;
        LogLoopError(_logger, "lease keeper", e);
    }

    private async Task RenewOnceAsync(CancellationToken stop)
    {
        await Task.Delay(_options.LeaseDuration / 3, Time, stop).ConfigureAwait(false);
        _executor.CopyRunningIds(_ids);
        var now = Time.GetUtcNow();
        if (_ids.Count > 0)
        {
            await _store.RenewLeasesAsync(_ids, _options.NodeId, now + _options.LeaseDuration, stop).ConfigureAwait(false);
        }

        if (_cutOff)
        {
            // The store was away, for every node alike when the database itself restarted: leases ran out while no node
            // could renew. Nothing is requeued until the store has answered for half a lease, longer than the renewal
            // period of every node, so a node that lost the store only for a while keeps the requests it still runs.
            if (_ids.Count == 0)
            {
                await _store.NextDueAsync(string.Empty, stop).ConfigureAwait(false);
            }

            _backSince ??= now;
            if (now - _backSince.Value < _options.LeaseDuration / 2)
            {
                return;
            }

            _cutOff = false;
            _backSince = null;
        }

        await _store.RequeueExpiredAsync(now, stop).ConfigureAwait(false);
    }
}
