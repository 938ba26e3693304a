using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NanoRun.Maintenance;

/// <summary>
/// The lifecycle every background service of the engine shares. It starts at most once and stops at most once, from any
/// thread and in any order: a stop before the start makes the start do nothing, a second stop waits for the first, and
/// dispose stops. Stopping has two steps: <see cref="Stopping"/> fires (take no new work), the loops get
/// <see cref="GracePeriod"/> to end, then <see cref="OnGraceOverAsync"/> cuts what still runs, and the stop returns only
/// once every loop has ended.
/// </summary>
internal abstract partial class BackgroundRole : IHostedService, IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();

    // Read without the source, which dispose frees.
    private readonly CancellationToken _stoppingToken;

    // Every loop started or task tracked and not yet seen completed; guarded by _gate.
    private readonly List<Task> _loops = [];

    // The start (null until started) and the first stop (null until stopped); guarded by _gate.
    private Task? _started;
    private Task? _stopped;
    private bool _disposed;

    protected BackgroundRole(TimeProvider time)
    {
        Time = time;
        _stoppingToken = _stopping.Token;
    }

    protected TimeProvider Time { get; }

    /// <summary>Fires when the stop begins: loops take no new work and end.</summary>
    protected CancellationToken Stopping => _stoppingToken;

    /// <summary>How long the loops may take to end once <see cref="Stopping"/> fired; default until the stop's own token fires.</summary>
    protected virtual TimeSpan GracePeriod => Timeout.InfiniteTimeSpan;

    /// <summary>Whether a loop of this service (or of a role it runs) has not ended yet.</summary>
    internal virtual bool HasRunningLoops
    {
        get
        {
            lock (_gate)
            {
                foreach (var loop in _loops)
                {
                    if (!loop.IsCompleted)
                    {
                        return true;
                    }
                }

                return false;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource started;
        lock (_gate)
        {
            if (_started is not null || _stopped is not null)
            {
                return Task.CompletedTask;
            }

            started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _started = started.Task;
        }

        // The start runs outside the gate: a role's start takes its own locks, which a reload may hold while tracking a loop.
        return StartOnceAsync(started, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource stopped;
        Task? started;
        lock (_gate)
        {
            if (_stopped is not null)
            {
                return _stopped;
            }

            stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _stopped = stopped.Task;
            started = _started;
        }

        if (started is null)
        {
            _stopping.Cancel();
            stopped.SetResult();
            return Task.CompletedTask;
        }

        return StopOnceAsync(started, stopped, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await OnDisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Starts the service's loops (<see cref="Run"/>) and subscriptions; runs once, and never together with a stop.</summary>
    protected abstract Task OnStartAsync(CancellationToken cancellationToken);

    /// <summary>Runs once <see cref="Stopping"/> fired, before the loops are awaited: unsubscribe, stop child roles and <see cref="Track"/> their stops.</summary>
    protected virtual Task OnStoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs when the loops outlast <see cref="GracePeriod"/> or the stop's token fires: cut the work still running.</summary>
    protected virtual Task OnGraceOverAsync() => Task.CompletedTask;

    /// <summary>Runs once every loop has ended.</summary>
    protected virtual Task OnStoppedAsync() => Task.CompletedTask;

    /// <summary>Frees what the service holds; runs once, after the stop.</summary>
    protected virtual ValueTask OnDisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Runs <paramref name="loop"/> on the thread pool with <see cref="Stopping"/>; the stop waits for it to end.</summary>
    protected void Run(Func<CancellationToken, Task> loop) => Track(Task.Run(() => loop(_stoppingToken), CancellationToken.None));

    /// <summary>Has the stop wait for <paramref name="task"/> too (a loop with its own token, or a child role's stop).</summary>
    protected void Track(Task task)
    {
        lock (_gate)
        {
            _loops.RemoveAll(static t => t.IsCompleted);
            _loops.Add(task);
        }
    }

    /// <summary>
    /// Runs <paramref name="pass"/> again and again until <paramref name="stop"/> fires; the pass does its own waiting between
    /// rounds. A failed pass is handed to <paramref name="failed"/> and followed by a pause from <paramref name="backoff"/>,
    /// which grows with each failure in a row and starts over after a pass that succeeds. Only cancellation ends the loop.
    /// </summary>
    protected async Task RepeatAsync(Func<CancellationToken, Task> pass, Action<Exception> failed, Backoff backoff, CancellationToken stop)
    {
        var pause = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await pass(stop).ConfigureAwait(false);
                pause = TimeSpan.Zero;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failed(e);
                pause = backoff.After(pause);
                if (pause <= TimeSpan.Zero)
                {
                    continue;
                }

                try
                {
                    await Task.Delay(pause, Time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task StartOnceAsync(TaskCompletionSource started, CancellationToken cancellationToken)
    {
        try
        {
            await OnStartAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            started.SetResult();
        }
    }

    private async Task StopOnceAsync(Task started, TaskCompletionSource stopped, CancellationToken cancellationToken)
    {
        try
        {
            // A start still running finishes first; a start that failed was reported to its caller.
            await started.ConfigureAwait(false);
            await _stopping.CancelAsync().ConfigureAwait(false);
            await OnStoppingAsync(cancellationToken).ConfigureAwait(false);

            Task all;
            lock (_gate)
            {
                all = Task.WhenAll(_loops);
            }

            try
            {
                await all.WaitAsync(GracePeriod, Time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                await OnGraceOverAsync().ConfigureAwait(false);
            }

            await all.ConfigureAwait(false);
            await OnStoppedAsync().ConfigureAwait(false);
        }
        finally
        {
            stopped.SetResult();
        }
    }

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Background loop {Loop} failed; backing off")]
    protected static partial void LogLoopError(ILogger logger, string loop, Exception exception);
}

/// <summary>The pause after a failed pass: <see cref="First"/> after one failure, doubled after each further one up to <see cref="Max"/>.</summary>
internal readonly record struct Backoff(TimeSpan First, TimeSpan Max)
{
    /// <summary>100 ms after one failure, doubled after each further one up to 10 seconds.</summary>
    public static Backoff Default { get; } = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));

    /// <summary>No pause: the next pass follows at once (a pass that waits before its work).</summary>
    public static Backoff None { get; } = new(TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>The pause after one more failure, given the pause after the previous one (zero after a success).</summary>
    public TimeSpan After(TimeSpan previous) =>
        previous <= TimeSpan.Zero ? First : TimeSpan.FromTicks(Math.Min(previous.Ticks * 2, Max.Ticks));
}
