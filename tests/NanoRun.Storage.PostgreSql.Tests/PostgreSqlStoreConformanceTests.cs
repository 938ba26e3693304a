using Npgsql;
using NanoRun.Storage.PostgreSql;

namespace NanoRun.Storage;

/// <summary>The conformance suite over the shared provider: a fresh database in the test cluster per test.</summary>
public sealed class PostgreSqlStoreConformanceTests : StoreConformanceTests
{
    private TestDatabase? _database;
    private NpgsqlDataSource? _dataSource;

    protected override async Task<(IRequestStore Store, IBlobStore Blobs)> OpenAsync(TimeProvider time)
    {
        _database ??= await TestDatabase.CreateAsync();
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        _dataSource = PostgreSqlDataSource.Create(_database.ConnectionString);
        return (new PostgreSqlRequestStore(_dataSource, time), new PostgreSqlBlobStore(_dataSource));
    }

    protected override async Task DestroyWorldAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
