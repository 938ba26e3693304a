using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using NanoRun.Queue;

namespace NanoRun.Storage;

/// <summary>
/// Whether the store answers, as seen by the callers that must answer in time: admission, <c>/readyz</c> and the pages
/// of the UI. Once one of their store calls has not answered within <see cref="EngineOptions.AdmissionStoreTimeout"/>
/// (a database behind a port that went silent leaves calls hanging instead of refusing them), the circuit opens: those
/// callers answer "store unavailable" at once, without touching the store, while one background probe asks the store
/// until it answers; then the circuit closes again. Registered by <c>AddNanoRun</c>, one per engine.
/// </summary>
/// <remarks>
/// A guarded call never hands the caller's deadline to the store: the call goes on by itself and ends when it answers
/// or when the driver gives up (its own command and connect time-outs), while the caller stops waiting. A driver that
/// cancels on a token's callback (Npgsql connects to the server to send its cancel request, synchronously) would
/// otherwise hold the thread that fires the deadline, and the answer with it.
/// </remarks>
public sealed partial class StoreCircuit : IDisposable
{
    /// <summary>The pause between two probes that failed at once (a database refusing connections).</summary>
    private static readonly TimeSpan ProbePause = TimeSpan.FromSeconds(1);

    private readonly IRequestStore _store;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();

    // 1 while open (written under _gate when opened); the probe loop, running while open (null when none), guarded by _gate.
    private int _open;
    private Task? _probing;

    internal StoreCircuit(IRequestStore store, EngineOptions options, TimeProvider time, ILogger<StoreCircuit> logger)
    {
        _store = store;
        _timeout = options.AdmissionStoreTimeout;
        _time = time;
        _logger = logger;
    }

    /// <summary>Whether the store is known not to answer now: callers that must answer in time refuse at once while it is.</summary>
    public bool IsOpen => Volatile.Read(ref _open) != 0;

    /// <summary>
    /// Whether the store answers a small count query within <see cref="EngineOptions.AdmissionStoreTimeout"/> (5 seconds
    /// by default); <c>false</c> at once while the circuit is open. A query that does not answer in time opens it.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; the query itself runs on until it answers.</param>
    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await CallAsync(static (store, token) => store.CountByStateAsync(string.Empty, token), _store, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (StoreFaults.IsUnavailable(e))
        {
            return false;
        }
    }

    /// <summary>Stops the probe; queries it left in flight end by themselves.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _stop.Cancel();
            _stop.Dispose();
        }
    }

    /// <summary>
    /// Runs one store call that must answer within <see cref="EngineOptions.AdmissionStoreTimeout"/>. While the circuit is
    /// open the call is not made; a call that does not answer in time opens it. Either way a <see cref="TimeoutException"/>
    /// says that the store is unavailable.
    /// </summary>
    /// <param name="call">The store call; it gets no token that the deadline cancels.</param>
    /// <param name="state">What the call needs, so that it captures nothing.</param>
    /// <param name="cancellationToken">Stops waiting (the caller went away); the call runs on.</param>
    internal async Task<T> CallAsync<TState, T>(Func<TState, CancellationToken, Task<T>> call, TState state, CancellationToken cancellationToken)
    {
        ThrowIfOpen();
        var task = call(state, CancellationToken.None);
        try
        {
            return await task.WaitAsync(_timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e) when (!task.IsCompleted)
        {
            Open(e);
            Abandon(task);
            throw;
        }
        catch (OperationCanceledException) when (!task.IsCompleted)
        {
            Abandon(task);
            throw;
        }
    }

    /// <summary>
    /// Enumerates a store read step by step, each step held to <see cref="EngineOptions.AdmissionStoreTimeout"/> as
    /// <see cref="CallAsync"/> holds a call: a step that misses it opens the circuit, and the read it leaves behind is
    /// disposed once that step ends by itself.
    /// </summary>
    /// <param name="source">The store's read, started without a token that the deadline cancels.</param>
    /// <param name="cancellationToken">Stops waiting (the caller went away); the step runs on.</param>
    internal async IAsyncEnumerable<T> EnumerateAsync<T>(IAsyncEnumerable<T> source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfOpen();
        var items = source.GetAsyncEnumerator(CancellationToken.None);
        var abandoned = false;
        try
        {
            while (true)
            {
                var next = items.MoveNextAsync();
                bool more;
                if (next.IsCompletedSuccessfully)
                {
                    more = next.Result;
                }
                else
                {
                    var step = next.AsTask();
                    try
                    {
                        more = await step.WaitAsync(_timeout, _time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when ((e is TimeoutException or OperationCanceledException) && !step.IsCompleted)
                    {
                        if (e is TimeoutException)
                        {
                            Open(e);
                        }

                        abandoned = true;
                        _ = step.ContinueWith(static (_, s) => ((IAsyncEnumerator<T>)s!).DisposeAsync().AsTask(), items, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
                        throw;
                    }
                }

                if (!more)
                {
                    yield break;
                }

                yield return items.Current;
            }
        }
        finally
        {
            if (!abandoned)
            {
                await items.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Throws the circuit's <see cref="TimeoutException"/> while it is open.</summary>
    internal void ThrowIfOpen()
    {
        if (IsOpen)
        {
            throw new TimeoutException("the store has not answered in time; it is asked again in the background");
        }
    }

    /// <summary>Opens the circuit after a call that did not answer in time, and starts the probe unless it runs.</summary>
    internal void Open(Exception reason)
    {
        lock (_gate)
        {
            Volatile.Write(ref _open, 1);
            if (_probing is not null || _stop.IsCancellationRequested)
            {
                return;
            }

            LogOpened(_logger, _timeout, reason);
            var stop = _stop.Token;
            _probing = Task.Run(() => ProbeAsync(stop), CancellationToken.None);
        }
    }

    /// <summary>Lets an abandoned call end by itself; its failure is expected and seen by nobody.</summary>
    private static void Abandon(Task task)
    {
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Asks the store until it answers, one query at a time; a query that does not answer in time stays in flight and
    /// closes the circuit if it answers later (a silent port that comes back delivers what it held).
    /// </summary>
    private async Task ProbeAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested && !TryFinishProbing())
        {
            var probe = _store.CountByStateAsync(string.Empty, CancellationToken.None);
            try
            {
                await probe.WaitAsync(_timeout, _time, stop).ConfigureAwait(false);
                Close();
                continue;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                Abandon(probe);
                return;
            }
            catch (TimeoutException) when (!probe.IsCompleted)
            {
                _ = probe.ContinueWith(static (_, s) => ((StoreCircuit)s!).Close(), this, CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                Abandon(probe);
                continue;
            }
            catch (Exception e) when (StoreFaults.IsUnavailable(e))
            {
                // Refused or failed at once: ask again after a pause.
            }

            try
            {
                await Task.Delay(ProbePause, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Ends the probe loop once the circuit is closed; an open that races with it finds the loop still running.</summary>
    private bool TryFinishProbing()
    {
        lock (_gate)
        {
            if (IsOpen)
            {
                return false;
            }

            _probing = null;
            return true;
        }
    }

    private void Close()
    {
        if (Interlocked.Exchange(ref _open, 0) != 0)
        {
            LogClosed(_logger);
        }
    }

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "The store did not answer within {Timeout}; requests, pages and /readyz answer 503 at once until a background probe gets an answer")]
    private static partial void LogOpened(ILogger logger, TimeSpan timeout, Exception exception);

    [LoggerMessage(EventId = 24, Level = LogLevel.Information, Message = "The store answers again")]
    private static partial void LogClosed(ILogger logger);
}
