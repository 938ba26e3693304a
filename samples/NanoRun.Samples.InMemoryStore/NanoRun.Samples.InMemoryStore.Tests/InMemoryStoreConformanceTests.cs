using NanoRun.Storage;
using NanoRun.Storage.Testing;

namespace NanoRun.Samples.InMemoryStore.Tests;

/// <summary>One test's world: a fresh in-memory store. Reopening returns the same instances, as a process restart of a
/// durable store would return the same data.</summary>
public sealed class InMemoryStoreWorld : StoreWorld
{
    private readonly InMemoryBlobStore _blobs = new();
    private InMemoryRequestStore? _requests;

    public override Task<ProviderStores> OpenAsync(TimeProvider time)
    {
        // The suite passes the same fake clock to every opening of one world.
        _requests ??= new InMemoryRequestStore(time);
        return Task.FromResult(new ProviderStores(_requests, _blobs));
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public sealed class InMemoryRequestQueueTests : RequestQueueConformanceTests<InMemoryStoreWorld>;

public sealed class InMemoryRequestHistoryTests : RequestHistoryConformanceTests<InMemoryStoreWorld>;

public sealed class InMemoryBlobStoreTests : BlobStoreConformanceTests<InMemoryStoreWorld>;

public sealed class InMemoryCallbackStoreTests : CallbackStoreConformanceTests<InMemoryStoreWorld>;

public sealed class InMemoryBulkTests : BulkConformanceTests<InMemoryStoreWorld>;
