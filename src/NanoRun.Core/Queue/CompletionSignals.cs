using System.Collections.Concurrent;

namespace NanoRun.Queue;

/// <summary>Wakes callers waiting for a request to reach a final state on this node.</summary>
internal sealed class CompletionSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    /// <summary>Returns a task that completes when <see cref="Signal"/> is called for the id; register before reading the store.</summary>
    public Task WhenSignalled(string requestId) =>
        _waiters.GetOrAdd(requestId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Releases every waiter of the id.</summary>
    public void Signal(string requestId)
    {
        if (_waiters.TryRemove(requestId, out var tcs))
        {
            tcs.TrySetResult();
        }
    }

    /// <summary>Drops the id's entry after a wait ended without a signal; other waiters of the id fall back to polling the store.</summary>
    public void Forget(string requestId, Task signal)
    {
        if (_waiters.TryGetValue(requestId, out var tcs) && tcs.Task == signal)
        {
            _waiters.TryRemove(KeyValuePair.Create(requestId, tcs));
        }
    }
}
