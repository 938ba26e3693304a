using NanoRun.Storage.Sqlite;
using NanoRun.Storage.Testing;

namespace NanoRun.Storage;

/// <summary>The embedded provider's world: SQLite and body files in a temp folder per test.</summary>
public sealed class SqliteStoreWorld : StoreWorld
{
    private readonly TempFolder _folder = new();

    public override Task<ProviderStores> OpenAsync(TimeProvider time) =>
        Task.FromResult(new ProviderStores(new SqliteRequestStore(_folder.Path, time), new FileBlobStore(System.IO.Path.Join(_folder.Path, "blobs"))));

    public override ValueTask DisposeAsync()
    {
        _folder.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class SqliteRequestQueueConformanceTests : RequestQueueConformanceTests<SqliteStoreWorld>;

public sealed class SqliteRequestHistoryConformanceTests : RequestHistoryConformanceTests<SqliteStoreWorld>;

public sealed class SqliteBlobStoreConformanceTests : BlobStoreConformanceTests<SqliteStoreWorld>;

public sealed class SqliteCallbackStoreConformanceTests : CallbackStoreConformanceTests<SqliteStoreWorld>;

public sealed class SqliteNodeStoreConformanceTests : NodeStoreConformanceTests<SqliteStoreWorld>;

/// <summary>The pause store contract on SQLite.</summary>
public sealed class SqlitePauseStoreConformanceTests : PauseStoreConformanceTests<SqliteStoreWorld>;
public sealed class SqliteBulkConformanceTests : BulkConformanceTests<SqliteStoreWorld>;
