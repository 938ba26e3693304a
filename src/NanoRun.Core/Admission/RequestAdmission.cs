using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NanoRun.Metrics;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Tracing;
using NanoRun.Units;

namespace NanoRun.Admission;

/// <summary>
/// The one way a request enters the queue (API, UI form, retry, replay, schedules, library hosts): answers a repeated
/// key from the store, applies the admission rule, stores body and record durably, and wakes the unit's worker.
/// The caller has authorized the request already. Registered by <c>AddNanoRun</c>; hosts that do not adapt HTTP use
/// <see cref="INanoRunQueue"/>, which is the same service.
/// </summary>
public sealed partial class RequestAdmission : INanoRunQueue
{
    /// <summary>Largest bulk replay batch.</summary>
    public const int MaxReplayBatch = 1000;

    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestAdmission> _logger;
    private readonly NanoRunMetrics _metrics;
    private readonly IUnitWakeup _workers;
    private readonly AdmissionGate _gate;
    private readonly EngineOptions _options;
    private readonly StoreCircuit _circuit;

    internal RequestAdmission(
        UnitCatalog units,
        IRequestStore store,
        IBlobStore blobs,
        EngineOptions options,
        TimeProvider time,
        ILogger<RequestAdmission> logger,
        NanoRunMetrics metrics,
        IUnitWakeup workers,
        StoreCircuit circuit)
    {
        _units = units;
        _store = store;
        _blobs = blobs;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _workers = workers;
        _options = options;
        _circuit = circuit;
        _gate = new AdmissionGate(options, time, metrics, workers.WaitingAsync);
    }

    /// <summary>
    /// Passes a new request through the admission rule, then saves it durably and queues it; the id comes back only once
    /// body and record are on disk. A refusal (rate, free disk, <c>max_queue</c>, disk full while saving, a body over
    /// <c>max_request</c>) stores nothing.
    /// </summary>
    /// <param name="unit">The unit in force that takes the request.</param>
    /// <param name="request">The request; its body is read to its end once, and its verifier sees every byte.</param>
    /// <param name="cancellationToken">Cancels the enqueue; a partial body is removed.</param>
    /// <exception cref="BodyRefusedException">The request's verifier refused the body; nothing is stored.</exception>
    public Task<EnqueueResult> EnqueueAsync(UnitDefinition unit, IncomingRequest request, CancellationToken cancellationToken) =>
        EnqueueAsync(unit, request, unit.MaxRequest, null, null, cancellationToken);

    /// <summary>
    /// Like <see cref="EnqueueAsync(UnitDefinition, IncomingRequest, CancellationToken)"/>, but stores nothing and answers
    /// <see cref="AdmissionOutcome.Replayed"/> with the earlier id when a request with <paramref name="dedupeKey"/> is stored.
    /// Without a body verifier the earlier request is looked up first, so a repeat is neither read, rate-limited nor counted.
    /// </summary>
    /// <param name="unit">The unit in force that takes the request.</param>
    /// <param name="request">The request; its body is read to its end once, and its verifier sees every byte.</param>
    /// <param name="dedupeKey">The store's key, such as <see cref="IdempotencyDedupeKey"/> makes.</param>
    /// <param name="cancellationToken">Cancels the enqueue; a partial body is removed.</param>
    /// <exception cref="BodyRefusedException">The request's verifier refused the body; nothing is stored.</exception>
    public Task<EnqueueResult> EnqueueOnceAsync(UnitDefinition unit, IncomingRequest request, string dedupeKey, CancellationToken cancellationToken) =>
        EnqueueAsync(unit, request, unit.MaxRequest, dedupeKey, null, cancellationToken);

    /// <inheritdoc />
    public async Task<EnqueueResult> EnqueueAsync(
        string unit,
        Stream body,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        EnqueueOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        ArgumentNullException.ThrowIfNull(body);
        options ??= new EnqueueOptions();
        if (_units.Find(unit) is not { } definition)
        {
            return EnqueueResult.Refused(AdmissionResult.UnknownUnit(unit));
        }

        List<KeyValuePair<string, string>> pairs = headers is null ? [] : [.. headers];
        var request = new IncomingRequest(options.Method, options.Uri ?? "/api/" + unit + "/", pairs, body) { Principal = options.Principal, NotBefore = options.NotBefore };
        var dedupeKey = options.IdempotencyKey is { } key ? IdempotencyDedupeKey(unit, key, options.Principal) : null;
        return await EnqueueAsync(definition, request, definition.MaxRequest, dedupeKey, options.Transaction, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The store's dedupe key for a client's idempotency key: per unit and per authenticated caller, and apart from the
    /// keys of schedules (<c>cron:</c>). An anonymous caller (<paramref name="principal"/> <c>null</c>) keeps the form
    /// <c>idem:{unit}:{key}</c> that earlier versions stored; a caller known by its credential gets
    /// <c>idem@{SHA-256 of the principal, hex}:{unit}:{key}</c>, so callers with different credentials never share a key.
    /// </summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="key">The client's key.</param>
    /// <param name="principal">The authenticated caller; default <c>null</c>, anonymous.</param>
    public static string IdempotencyDedupeKey(string unit, string key, string? principal = null) =>
        principal is null
            ? "idem:" + unit + ":" + key
            : "idem@" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(principal))) + ":" + unit + ":" + key;

    /// <summary>Queues a new request of <paramref name="unit"/> with the saved content of <paramref name="original"/>, through the admission rule; <c>null</c> when the body is gone.</summary>
    /// <param name="unit">The unit in force.</param>
    /// <param name="original">The request whose content is sent again.</param>
    /// <param name="principal">Who asks for the retry; the new request carries it.</param>
    /// <param name="cancellationToken">Cancels the enqueue.</param>
    public async Task<EnqueueResult?> RetryAsync(UnitDefinition unit, RequestRecord original, string? principal, CancellationToken cancellationToken = default)
    {
        var body = await _blobs.OpenReadAsync(original.Body, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }

        await using (body.ConfigureAwait(false))
        {
            // The copy is not limited by max_request: the content was accepted once already.
            var request = new IncomingRequest(original.Method, original.Uri, original.Headers, body) { Principal = principal };
            return await EnqueueAsync(unit, request, 0, null, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Replays up to <paramref name="limit"/> failed requests of <paramref name="unit"/>, newest first and older than
    /// <paramref name="before"/> when set. Each failed request is replayed at most once however often this runs (its replay
    /// is stored under the dedupe key <c>replay:{id}</c>); the failed requests themselves stay as they are. The batch stops at
    /// the first request the admission rule refuses; the refusal comes back with the requests handled before it.
    /// </summary>
    /// <param name="unit">The unit in force.</param>
    /// <param name="limit">How many failed requests to look at, 1 to <see cref="MaxReplayBatch"/>.</param>
    /// <param name="before">The cursor: only requests older than this id; <c>null</c> starts at the newest.</param>
    /// <param name="principal">Who asks for the replay; the new requests carry it.</param>
    /// <param name="cancellationToken">Cancels the batch; requests queued before it stay queued.</param>
    public async Task<ReplayBatch> ReplayFailedAsync(UnitDefinition unit, int limit, string? before, string? principal, CancellationToken cancellationToken = default)
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
                var (newId, earlier, refused) = await ReplayOnceAsync(unit, record, principal, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Counts a new request of <paramref name="unit"/> that its authorization refused (HTTP 401 or 403, or a body whose
    /// signature did not match) in the refusal metrics, beside the refusals admission decides itself.
    /// </summary>
    public void CountUnauthorized(string unit) => _metrics.Refused(unit, RefusalReasons.Auth);

    /// <summary>
    /// Refuses a request of <paramref name="unit"/> whose declared length is over its <c>max_request</c> before any
    /// byte is read, counting it like a body cut off while streaming; the answer maps to HTTP 413.
    /// </summary>
    public AdmissionResult RefuseTooLarge(UnitDefinition unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        _metrics.Refused(unit.Name, RefusalReasons.TooLarge);
        return AdmissionResult.TooLarge(unit.MaxRequest);
    }

    private async Task<(string? Id, bool Earlier, AdmissionResult? Refused)> ReplayOnceAsync(UnitDefinition unit, RequestRecord original, string? principal, CancellationToken cancellationToken)
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
            var request = new IncomingRequest(original.Method, original.Uri, original.Headers, body) { Principal = principal };
            var result = await EnqueueAsync(unit, request, 0, key, null, cancellationToken).ConfigureAwait(false);
            return result.Admission.Outcome switch
            {
                AdmissionOutcome.Admitted => (result.Id, false, null),
                AdmissionOutcome.Replayed => (result.Id, true, null),
                AdmissionOutcome.Conflict => (null, true, null),
                _ => (null, false, result.Admission),
            };
        }
    }

    private async Task<EnqueueResult> EnqueueAsync(
        UnitDefinition unit,
        IncomingRequest request,
        long maxLength,
        string? dedupeKey,
        IEnqueueTransaction? transaction,
        CancellationToken cancellationToken)
    {
        // The store's look-ups and the row's insert get a deadline, so that a database that is restarting or unreachable
        // is answered with "try again later" long before a client gives up waiting. The store never gets the deadline's
        // token, only the caller's: a driver may cancel synchronously on the token's callback (Npgsql connects to the
        // server to send its cancel request, which a silent network holds), so the deadline only stops the waiting and
        // the store call is left to finish or fail on its own. A missed deadline opens the store circuit: until the
        // store answers again, requests are refused at once.
        using var timeout = new CancellationTokenSource(_options.AdmissionStoreTimeout, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var accept = RequestTracing.StartAccept(unit.Name, request.Headers);
        var result = default(EnqueueResult);
        var stored = false;
        try
        {
            result = await StoreAsync(unit, request, maxLength, dedupeKey, transaction, accept, timeout, deadline.Token, cancellationToken).ConfigureAwait(false);
            stored = true;
            return result;
        }
        catch (Exception e) when (transaction is null && !cancellationToken.IsCancellationRequested
            && (StoreFaults.IsUnavailable(e) || (e is OperationCanceledException && timeout.IsCancellationRequested)))
        {
            if (e is OperationCanceledException)
            {
                _circuit.Open(e);
            }

            // Nothing was acknowledged. A row whose insert outlived the deadline may still commit; it then runs once
            // unacknowledged, and the client's retry is a request of its own.
            LogStoreUnavailable(_logger, unit.Name, e);
            _gate.Count(unit.Name, AdmissionResult.StoreUnavailable);
            result = EnqueueResult.Refused(AdmissionResult.StoreUnavailable);
            stored = true;
            return result;
        }
        finally
        {
            if (accept is not null)
            {
                RequestTracing.EndAccept(accept, result.Id, stored ? result.Admission.Outcome.ToString().ToLowerInvariant() : "error");
            }
        }
    }

    // storeToken stops waiting for the store's look-ups and the row's insert once timeout fires (the calls themselves get
    // the caller's token); the timer is off while the body is copied (a large upload takes as long as it takes), which
    // the caller's token alone cancels.
    private async Task<EnqueueResult> StoreAsync(
        UnitDefinition unit,
        IncomingRequest request,
        long maxLength,
        string? dedupeKey,
        IEnqueueTransaction? transaction,
        Activity? accept,
        CancellationTokenSource timeout,
        CancellationToken storeToken,
        CancellationToken cancellationToken)
    {
        if (transaction is null)
        {
            _circuit.ThrowIfOpen();
        }

        // A repeat is answered from the store before its body is read. A body that must pass a check is read first, so
        // that a caller without the right signature never learns the id stored under someone's key.
        if (dedupeKey is not null && request.Verifier is null
            && await _store.FindByDedupeKeyAsync(dedupeKey, cancellationToken).WaitAsync(storeToken).ConfigureAwait(false) is { } earlier)
        {
            return new EnqueueResult(earlier, AdmissionResult.Replayed);
        }

        // Every way a request is stored comes through here, so the admission rule holds for all of them.
        var admission = await _gate.CheckAsync(unit, cancellationToken).AsTask().WaitAsync(storeToken).ConfigureAwait(false);
        if (!admission.IsAdmitted)
        {
            return EnqueueResult.Refused(admission);
        }

        var unitName = unit.Name;
        var id = RequestId.New(_time);

        // Durability order: (1) the body is written, fsynced and renamed into place by the blob store,
        // (2) the row that points at it is committed, (3) only then does the caller see the id.
        // Inside a host's transaction, (1) and (2) become durable together when the host commits.
        // A verifier sees the body in the same pass that stores it; a refused body is removed before any row exists.
        var source = request.Verifier is { } verifier ? new TappedStream(request.Body, verifier) : request.Body;
        BodyRef body;
        timeout.CancelAfter(Timeout.InfiniteTimeSpan);
        try
        {
            body = transaction is null
                ? await _blobs.WriteAsync(id + "/body", source, maxLength, cancellationToken).ConfigureAwait(false)
                : await transaction.WriteBodyAsync(id + "/body", source, maxLength, cancellationToken).ConfigureAwait(false);
        }
        catch (BodyTooLargeException)
        {
            // The blob store removed the partial body; nothing was queued.
            _metrics.Refused(unitName, RefusalReasons.TooLarge);
            return EnqueueResult.Refused(AdmissionResult.TooLarge(maxLength));
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            _gate.Count(unitName, AdmissionResult.DiskFull);
            return EnqueueResult.Refused(AdmissionResult.DiskFull);
        }

        if (request.Verifier is { } check && !check.Verify())
        {
            await DeleteBodyAsync(id, transaction).ConfigureAwait(false);
            throw new BodyRefusedException();
        }

        bool added;
        Task<bool>? insert = null;
        timeout.CancelAfter(_options.AdmissionStoreTimeout);
        try
        {
            var started = _time.GetTimestamp();
            var row = new NewRequest(id, unitName, request.Method, request.Uri, RequestTracing.WithContext(SavedHeaders.WithRemoteAddress(request.Headers, request.RemoteAddress), accept), body, _time.GetUtcNow(), dedupeKey)
            {
                Callback = Callbacks.CallbackTarget.For(_units.Find(unitName) ?? unit, request.Headers) is not null,
                Principal = request.Principal,
                NotBefore = request.NotBefore,
                SearchTerms = Search.SearchTerms.For(unit, request.Headers),
            };
            insert = transaction is null ? _store.EnqueueAsync(row, cancellationToken) : transaction.EnqueueAsync(row, cancellationToken);
            added = transaction is null
                ? await insert.WaitAsync(storeToken).ConfigureAwait(false)
                : await insert.ConfigureAwait(false);
            _metrics.StoreCall(StoreOperations.Enqueue, _time.GetElapsedTime(started));
        }
        catch
        {
            // An insert left behind at the deadline may still commit, and then needs its body. A body kept inline was
            // never written apart, and asking an unreachable store to delete it would hold the answer.
            if (body.Key is not null && (insert is null || insert.IsCompleted))
            {
                await DeleteBodyAsync(id, transaction).ConfigureAwait(false);
            }

            throw;
        }

        if (!added)
        {
            // A concurrent request with the same key was stored first: answer with its id.
            await DeleteBodyAsync(id, transaction).ConfigureAwait(false);
            return dedupeKey is not null && await _store.FindByDedupeKeyAsync(dedupeKey, cancellationToken).WaitAsync(storeToken).ConfigureAwait(false) is { } first
                ? new EnqueueResult(first, AdmissionResult.Replayed)
                : EnqueueResult.Refused(AdmissionResult.Conflict);
        }

        // Inside a host's transaction the row is not visible yet: the worker finds nothing now, and the store's queue
        // signal (NOTIFY on PostgreSQL) wakes it again when the host commits.
        _workers.Enqueued(unitName);
        _metrics.Accepted(unitName);
        LogAccepted(_logger, unitName, id);
        return new EnqueueResult(id, AdmissionResult.Admitted);
    }

    private Task DeleteBodyAsync(string id, IEnqueueTransaction? transaction) =>
        transaction is null ? _blobs.DeletePrefixAsync(id, CancellationToken.None) : transaction.DeleteBodyAsync(id, CancellationToken.None);

    /// <summary>ENOSPC (28) on Linux, ERROR_DISK_FULL (112) and ERROR_HANDLE_DISK_FULL (39) elsewhere.</summary>
    private static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is 28 or 112 or 39;

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Unit {Unit}: the store cannot be reached; new requests are answered 503 until it is back")]
    private static partial void LogStoreUnavailable(ILogger logger, string unit, Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Unit {Unit} request {RequestId}: accepted")]
    private static partial void LogAccepted(ILogger logger, string unit, string requestId);
}
