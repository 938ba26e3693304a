using Microsoft.Extensions.Logging;
using NanoRun.Metrics;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Admission;

/// <summary>
/// The one way a request enters the queue (API, UI form, retry, replay, schedules, library hosts): applies the admission
/// rule, stores body and record durably, and wakes the unit's worker.
/// </summary>
internal sealed partial class RequestAdmission
{
    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestAdmission> _logger;
    private readonly NanoRunMetrics _metrics;
    private readonly IUnitWakeup _workers;
    private readonly AdmissionGate _admission;

    public RequestAdmission(
        UnitCatalog units,
        IRequestStore store,
        IBlobStore blobs,
        EngineOptions options,
        TimeProvider time,
        ILogger<RequestAdmission> logger,
        NanoRunMetrics metrics,
        IUnitWakeup workers)
    {
        _units = units;
        _store = store;
        _blobs = blobs;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _workers = workers;
        _admission = new AdmissionGate(options, time, metrics, workers.WaitingAsync);
    }

    /// <summary>
    /// Passes a new request through the admission rule, then saves it durably and queues it; the id comes back only once
    /// body and record are on disk. A refusal (rate, free disk, <c>max_queue</c>, disk full while saving) stores nothing.
    /// </summary>
    /// <exception cref="BodyTooLargeException">The body is over the unit's <c>max_request</c>; nothing is stored.</exception>
    /// <exception cref="BodyRefusedException">The request's verifier refused the body; nothing is stored.</exception>
    public Task<EnqueueResult> EnqueueAsync(UnitDefinition unit, IncomingRequest request, CancellationToken cancellationToken) =>
        EnqueueAsync(unit, request, unit.MaxRequest, null, cancellationToken);

    /// <summary>Like <see cref="EnqueueAsync(UnitDefinition, IncomingRequest, CancellationToken)"/>, but answers an admitted result without an id, keeping nothing, when a request with <paramref name="dedupeKey"/> is already stored.</summary>
    internal Task<EnqueueResult> EnqueueOnceAsync(UnitDefinition unit, IncomingRequest request, string dedupeKey, CancellationToken cancellationToken) =>
        EnqueueAsync(unit, request, unit.MaxRequest, dedupeKey, cancellationToken);

    /// <summary>
    /// The store's dedupe key for a client's idempotency key: per unit and per authenticated caller, and apart from the
    /// keys of schedules (<c>cron:</c>). An anonymous caller (<paramref name="principal"/> <c>null</c>) keeps the form
    /// <c>idem:{unit}:{key}</c> that earlier versions stored; a caller known by its credential gets
    /// <c>idem@{SHA-256 of the principal, hex}:{unit}:{key}</c>, so callers with different credentials never share a key.
    /// </summary>
    internal static string IdempotencyDedupeKey(string unit, string key, string? principal = null) =>
        principal is null
            ? "idem:" + unit + ":" + key
            : "idem@" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(principal))) + ":" + unit + ":" + key;

    private async Task<EnqueueResult> EnqueueAsync(UnitDefinition unit, IncomingRequest request, long maxLength, string? dedupeKey, CancellationToken cancellationToken)
    {
        // Every way a request is stored comes through here, so the admission rule holds for all of them.
        var admission = await _admission.CheckAsync(unit, cancellationToken).ConfigureAwait(false);
        if (!admission.IsAdmitted)
        {
            return EnqueueResult.Refused(admission);
        }

        var unitName = unit.Name;
        var id = RequestId.New(_time);

        // Durability order: (1) the body is written, fsynced and renamed into place by the blob store,
        // (2) the row that points at it is committed, (3) only then does the caller see the id.
        // A verifier sees the body in the same pass that stores it; a refused body is removed before any row exists.
        var source = request.Verifier is { } verifier ? new TappedStream(request.Body, verifier) : request.Body;
        BodyRef body;
        try
        {
            body = await _blobs.WriteAsync(id + "/body", source, maxLength, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            // The blob store removed the partial body; nothing was queued.
            _admission.Count(unitName, AdmissionResult.DiskFull);
            return EnqueueResult.Refused(AdmissionResult.DiskFull);
        }

        if (request.Verifier is { } check && !check.Verify())
        {
            await _blobs.DeletePrefixAsync(id, CancellationToken.None).ConfigureAwait(false);
            throw new BodyRefusedException();
        }

        bool added;
        try
        {
            var started = _time.GetTimestamp();
            added = await _store.EnqueueAsync(
                new NewRequest(id, unitName, request.Method, request.Uri, SavedHeaders.WithRemoteAddress(request.Headers, request.RemoteAddress), body, _time.GetUtcNow(), dedupeKey)
                {
                    Callback = Callbacks.CallbackTarget.For(_units.Find(unitName) ?? unit, request.Headers) is not null,
                },
                cancellationToken).ConfigureAwait(false);
            _metrics.StoreCall(StoreOperations.Enqueue, _time.GetElapsedTime(started));
        }
        catch
        {
            await _blobs.DeletePrefixAsync(id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        if (!added)
        {
            await _blobs.DeletePrefixAsync(id, CancellationToken.None).ConfigureAwait(false);
            return new EnqueueResult(null, AdmissionResult.Admitted);
        }

        _workers.Enqueued(unitName);

        _metrics.Accepted(unitName);
        LogAccepted(_logger, unitName, id);
        return new EnqueueResult(id, AdmissionResult.Admitted);
    }

    /// <summary>ENOSPC (28) on Linux, ERROR_DISK_FULL (112) and ERROR_HANDLE_DISK_FULL (39) elsewhere.</summary>
    private static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is 28 or 112 or 39;

    /// <summary>Queues a new request of <paramref name="unit"/> with the saved content of <paramref name="original"/>, through the admission rule; <c>null</c> when the body is gone.</summary>
    public async Task<EnqueueResult?> RetryAsync(UnitDefinition unit, RequestRecord original, CancellationToken cancellationToken)
    {
        var body = await _blobs.OpenReadAsync(original.Body, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }

        await using (body.ConfigureAwait(false))
        {
            // The copy is not limited by max_request: the content was accepted once already.
            var request = new IncomingRequest(original.Method, original.Uri, original.Headers, body);
            return await EnqueueAsync(unit, request, 0, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Largest bulk replay batch.</summary>
    public const int MaxReplayBatch = 1000;

    /// <summary>
    /// Replays up to <paramref name="limit"/> failed requests of <paramref name="unit"/>, newest first and older than
    /// <paramref name="before"/> when set. Each failed request is replayed at most once however often this runs (its replay
    /// is stored under the dedupe key <c>replay:{id}</c>); the failed requests themselves stay as they are. The batch stops at
    /// the first request the admission rule refuses; the refusal comes back with the requests handled before it.
    /// </summary>
    public async Task<ReplayBatch> ReplayFailedAsync(UnitDefinition unit, int limit, string? before, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, MaxReplayBatch);
        var ids = new List<string>(limit + 1);
        await foreach (var summary in _store.PageAsync(new PageParams(unit.Name, limit + 1, before, RequestState.Failed), cancellationToken).ConfigureAwait(false))
        {
            ids.Add(summary.Id);
        }

        string? next = null;
        if (ids.Count > limit)
        {
            // One more than the batch was read only to learn that an older failed request exists.
            ids.RemoveAt(limit);
            next = ids[^1];
        }

        var items = new List<ReplayedRequest>(ids.Count);
        foreach (var id in ids)
        {
            var record = await _store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (record is { State: RequestState.Failed })
            {
                var (newId, earlier, refused) = await ReplayOnceAsync(unit, record, cancellationToken).ConfigureAwait(false);
                if (refused is not null)
                {
                    // Nothing after the refused request is looked at; the cursor resumes at the refused one.
                    return new ReplayBatch(items, items.Count > 0 ? items[^1].OriginalId : before) { Refused = refused };
                }

                items.Add(new ReplayedRequest(id, newId, earlier));
            }
        }

        return new ReplayBatch(items, next);
    }

    private async Task<(string? Id, bool Earlier, AdmissionResult? Refused)> ReplayOnceAsync(UnitDefinition unit, RequestRecord original, CancellationToken cancellationToken)
    {
        var key = "replay:" + original.Id;
        if (await _store.FindByDedupeKeyAsync(key, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return (existing, true, null);
        }

        var body = await _blobs.OpenReadAsync(original.Body, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return (null, false, null);
        }

        await using (body.ConfigureAwait(false))
        {
            var request = new IncomingRequest(original.Method, original.Uri, original.Headers, body);
            var result = await EnqueueAsync(unit, request, 0, key, cancellationToken).ConfigureAwait(false);
            if (!result.Admission.IsAdmitted)
            {
                return (null, false, result.Admission);
            }

            return result.Id is { } id ? (id, false, null) : (await _store.FindByDedupeKeyAsync(key, cancellationToken).ConfigureAwait(false), true, null);
        }
    }

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Unit {Unit} request {RequestId}: accepted")]
    private static partial void LogAccepted(ILogger logger, string unit, string requestId);
}
