using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NanoRun.Metrics;
using NanoRun.Output;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Tracing;
using NanoRun.Units;

namespace NanoRun.Execution;

/// <summary>
/// Runs one attempt of a claimed request through the unit's runner, records it and decides what comes next (done,
/// retry later, failed). It keeps the attempts running on this node, so they can be cancelled, aborted at shutdown and
/// have their leases renewed.
/// </summary>
internal sealed partial class AttemptExecutor : IDisposable
{
    /// <summary>Header of the failed attempt recorded instead of running one on a missing or truncated body.</summary>
    private const string BodyDamageHeader = "X-Nano-Run-Error";

    /// <summary>Longest pause between two tries to record an attempt while the store is away.</summary>
    private static readonly TimeSpan MaxRecordPause = TimeSpan.FromSeconds(5);

    private static readonly Func<ILogger, string, string, IDisposable?> AttemptScope =
        LoggerMessage.DefineScope<string, string>("Unit {Unit} request {RequestId}");

    private readonly IRequestStore _store;
    private readonly IBlobStore _blobs;
    private readonly AttemptRunnerSelector _runners;
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly NanoRunMetrics _metrics;
    private readonly CompletionSignals _completions;

    // Running attempts of this node by request id; written by the attempts, read by Cancel and the lease keeper.
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);

    // Fires when the graceful shutdown period runs out: every running attempt is cut short.
    private readonly CancellationTokenSource _abort = new();

    public AttemptExecutor(
        IRequestStore store,
        IBlobStore blobs,
        AttemptRunnerSelector runners,
        EngineOptions options,
        TimeProvider time,
        ILogger logger,
        NanoRunMetrics metrics,
        CompletionSignals completions)
    {
        _store = store;
        _blobs = blobs;
        _runners = runners;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _completions = completions;
    }

    /// <summary>Output of the attempts running on this node, for readers that follow it.</summary>
    public LiveOutputs LiveOutputs { get; } = new();

    /// <summary>How many attempts run on this node now.</summary>
    public int RunningCount => _running.Count;

    /// <summary>Replaces the content of <paramref name="ids"/> with the requests whose attempts run on this node now.</summary>
    public void CopyRunningIds(List<string> ids)
    {
        ids.Clear();
        foreach (var pair in _running)
        {
            ids.Add(pair.Key);
        }
    }

    /// <summary>Kills the attempt of <paramref name="requestId"/> when one runs on this node.</summary>
    public async Task CancelAsync(string requestId)
    {
        if (_running.TryGetValue(requestId, out var attempt))
        {
            try
            {
                await attempt.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The attempt finished between the look-up and the cancel.
            }
        }
    }

    /// <summary>Cuts every running attempt short; their requests are released for the next start.</summary>
    public Task AbortAllAsync() => _abort.CancelAsync();

    public void Dispose() => _abort.Dispose();

    /// <summary>Runs one attempt of a claimed request and records it; never throws.</summary>
    public async Task RunAsync(UnitDefinition unit, ClaimedRequest claimed)
    {
        // Every line logged while the attempt runs, the runner's too, names the unit and the request.
        using var scope = AttemptScope(_logger, unit.Name, claimed.Id);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        _running[claimed.Id] = attempt;
        LiveOutput? output = null;
        Activity? span = null;
        using var stderr = unit.MaxStderr > 0 ? new StderrTail(unit.MaxStderr) : null;
        try
        {
            var number = claimed.AttemptsSoFar + 1;
            var attemptId = RequestId.New(_time);
            var headers = SavedHeaders.Split(claimed.Headers, out var remoteAddress);
            var startedAt = _time.GetUtcNow();
            output = LiveOutputs.Start(claimed.Id, attemptId, number, startedAt);
            // The span continues the request's trace, saved at accept, whichever node accepted it and however long ago.
            span = RequestTracing.StartAttempt(unit.Name, claimed.Id, attemptId, number, _options.NodeName, claimed.Headers);
            var (traceParent, traceState) = RequestTracing.Outgoing(span, claimed.Headers);
            var context = new AttemptContext(unit, claimed.Id, attemptId, number, claimed.Method, claimed.Uri, headers, claimed.Body, _blobs, remoteAddress)
            {
                Output = output,
                Principal = claimed.Principal,
                Stderr = stderr,
                TraceParent = traceParent,
                TraceState = traceState,
            };
            LogAttemptStarting(_logger, unit.Name, claimed.Id, number);
            var damage = await CheckBodyAsync(claimed.Body).ConfigureAwait(false);
            var result = damage is null
                ? await _runners.For(unit.Mode).RunAsync(context, attempt.Token).ConfigureAwait(false)
                : new AttemptResult(500, [new(BodyDamageHeader, damage)], BodyRef.Empty);
            var finishedAt = _time.GetUtcNow();

            if (_abort.IsCancellationRequested)
            {
                // Shutdown cut the attempt short: put the request back so the next start runs it again (at-least-once).
                // The partial result is never recorded; it stays under the request's prefix and goes with the request.
                await _store.ReleaseAsync(claimed.Id, _options.NodeId, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            if (damage is not null)
            {
                LogBodyDamaged(_logger, unit.Name, claimed.Id, damage);
                context.ReportFailure("not run: " + damage);
            }

            // The runner and its stderr reader have stopped: what is kept of stderr is stored before the record points at it.
            var stderrBody = stderr is null ? BodyRef.Empty : await stderr.StoreAsync(_blobs, context.StderrKey, CancellationToken.None).ConfigureAwait(false);

            // A damaged body does not heal: the request fails at once rather than retrying on it.
            var next = damage is not null && result.Code >= 500 ? RequestState.Failed : RetrySchedule.NextState(unit, number, result.Code);
            var delay = next == RequestState.Retrying
                ? RetrySchedule.Delay(unit, number, result.Headers, finishedAt, Random.Shared.NextDouble())
                : unit.Interval;
            var record = new AttemptRecord(attemptId, number, result.Code, result.Headers, result.Body, startedAt, finishedAt) { Stderr = stderrBody };
            var recording = _time.GetTimestamp();
            var state = await RecordAsync(unit.Name, new AttemptOutcome(claimed.Id, _options.NodeId, record, next, finishedAt + delay)).ConfigureAwait(false);

            // The outcome is durable: waiters (a synchronous PUT) are woken before the bookkeeping below.
            if (state is { } final && final.IsFinal())
            {
                _completions.Signal(claimed.Id);
            }

            _metrics.StoreCall(StoreOperations.RecordAttempt, _time.GetElapsedTime(recording));
            _metrics.AttemptFinished(unit.Name, result.Code, state ?? next, finishedAt - startedAt);
            LogAttemptFinished(_logger, unit.Name, claimed.Id, number, result.Code, state ?? next);
            RequestTracing.EndAttempt(span, result.Code, state ?? next);
            span = null;
            if (state is { } s && s.IsFinal())
            {
                LogRequestFinal(_logger, unit.Name, claimed.Id, s, number);
            }
        }
        catch (Exception e)
        {
            // Broken infrastructure (store or disk), not a failed attempt: leave the lease to expire so it runs again.
            LogAttemptError(_logger, unit.Name, claimed.Id, e);
        }
        finally
        {
            // A span not ended with an outcome (released at shutdown, or broken infrastructure) ends without one.
            span?.Dispose();
            _running.TryRemove(claimed.Id, out _);

            // Readers of the live output move on to the stored result: it is recorded by now.
            if (output is not null)
            {
                LiveOutputs.Finish(output);
            }
        }
    }

    /// <summary>
    /// Records the attempt, again and again while the store is away (a database restarting or unreachable), until it is
    /// recorded or shutdown cuts attempts short. The request stays among the running ones meanwhile, so the lease keeper
    /// renews its lease as soon as the store answers and no other node runs it again.
    /// </summary>
    private async Task<RequestState?> RecordAsync(string unit, AttemptOutcome outcome)
    {
        var pause = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                return await _store.RecordAttemptAsync(outcome, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (StoreFaults.IsUnavailable(e) && !_abort.IsCancellationRequested)
            {
                LogRecordWaitsForStore(_logger, unit, outcome.RequestId, pause, e);
                await Task.Delay(pause, _time, _abort.Token).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxRecordPause.Ticks));
            }
        }
    }

    /// <summary>Why the saved body cannot be used (its file deleted or shorter or longer than recorded), or <c>null</c> when it is intact.</summary>
    private async Task<string?> CheckBodyAsync(BodyRef body)
    {
        if (body.Key is null)
        {
            return null;
        }

        var stream = await _blobs.OpenReadAsync(body, CancellationToken.None).ConfigureAwait(false);
        if (stream is null)
        {
            return "the saved request body is missing from storage";
        }

        await using (stream.ConfigureAwait(false))
        {
            return stream.CanSeek && stream.Length != body.Length
                ? $"the saved request body is damaged: {stream.Length} bytes stored, {body.Length} recorded"
                : null;
        }
    }

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Unit {Unit} request {RequestId}: attempt {Attempt} starting")]
    private static partial void LogAttemptStarting(ILogger logger, string unit, string requestId, int attempt);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Unit {Unit} request {RequestId}: attempt {Attempt} answered {Code}; request is {State}")]
    private static partial void LogAttemptFinished(ILogger logger, string unit, string requestId, int attempt, int code, RequestState state);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "Unit {Unit} request {RequestId}: not run, {Reason}; the request fails")]
    private static partial void LogBodyDamaged(ILogger logger, string unit, string requestId, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Unit {Unit} request {RequestId}: attempt could not be run or recorded; it runs again when its lease expires")]
    private static partial void LogAttemptError(ILogger logger, string unit, string requestId, Exception exception);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Unit {Unit} request {RequestId}: the store cannot record the attempt now; trying again in {Pause}")]
    private static partial void LogRecordWaitsForStore(ILogger logger, string unit, string requestId, TimeSpan pause, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Unit {Unit} request {RequestId}: final outcome {State} after {Attempts} attempts")]
    private static partial void LogRequestFinal(ILogger logger, string unit, string requestId, RequestState state, int attempts);
}
