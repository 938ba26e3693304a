using NanoRun.Storage.Sqlite;

namespace NanoRun.Storage;

/// <summary>The conformance suite over the embedded provider: SQLite and body files in a temp folder per test.</summary>
public sealed class SqliteStoreConformanceTests : StoreConformanceTests
{
    private readonly TempFolder _folder = new();

    protected override Task<(IRequestStore Store, IBlobStore Blobs)> OpenAsync(TimeProvider time) =>
        Task.FromResult<(IRequestStore, IBlobStore)>((new SqliteRequestStore(_folder.Path, time), new FileBlobStore(System.IO.Path.Join(_folder.Path, "blobs"))));

    protected override Task DestroyWorldAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }
}
