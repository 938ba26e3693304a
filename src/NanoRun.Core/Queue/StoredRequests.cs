using NanoRun.Output;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Queue;

/// <summary>The engine's <see cref="INanoRunRequests"/>: reads go to the store, acts to the engine that runs the attempts.</summary>
/// <remarks>Reads of records, pages and counts go through the store circuit: they answer in time or fail as unavailable,
/// and fail at once while the store is known to be away.</remarks>
internal sealed class StoredRequests(NanoRunEngine engine, UnitCatalog units, IRequestStore store, IBlobStore blobs, StoreCircuit circuit) : INanoRunRequests
{
    public Task<RequestRecord?> GetAsync(string requestId, CancellationToken cancellationToken = default) =>
        circuit.CallAsync(static (read, token) => read.Store.GetAsync(read.Id, token), (Store: store, Id: requestId), cancellationToken);

    public IAsyncEnumerable<RequestSummary> PageAsync(PageParams page, CancellationToken cancellationToken = default) =>
        circuit.EnumerateAsync(store.PageAsync(page, CancellationToken.None), cancellationToken);

    public IAsyncEnumerable<RequestSummary> SearchAsync(SearchParams search, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        return circuit.EnumerateAsync(store.SearchAsync(search with { Text = Search.SearchTerms.Normalize(search.Text) }, CancellationToken.None), cancellationToken);
    }

    public Task<CancelledBatch> CancelQueuedAsync(string unit, int limit, CancellationToken cancellationToken = default) =>
        engine.CancelQueuedAsync(unit, limit, cancellationToken);

    public Task<StateCounts> CountByStateAsync(string unit, CancellationToken cancellationToken = default) =>
        circuit.CallAsync(static (read, token) => read.Store.CountByStateAsync(read.Unit, token), (Store: store, Unit: unit), cancellationToken);

    public ValueTask<Stream?> OpenBodyAsync(BodyRef body, CancellationToken cancellationToken = default) =>
        blobs.OpenReadAsync(body, cancellationToken);

    public LiveOutput? FindRunning(string requestId) => engine.LiveOutputs.Find(requestId);

    public async Task<CallbackStatus?> GetCallbackAsync(string unit, string requestId, CancellationToken cancellationToken = default) =>
        units.Find(unit) is { } definition && (definition.Callback is not null || definition.AllowCallbackUrl) && store is ICallbackStore callbacks
            ? await callbacks.GetCallbackAsync(requestId, cancellationToken).ConfigureAwait(false)
            : null;

    public Task<RequestState?> CancelAsync(string requestId, CancellationToken cancellationToken = default) =>
        engine.CancelAsync(requestId, cancellationToken);

    public Task<RequestRecord?> WaitForFinalAsync(string requestId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        engine.WaitForFinalAsync(requestId, timeout, cancellationToken);
}
