using Npgsql;
using NanoRun.Storage.PostgreSql;
using NanoRun.Storage.Testing;

namespace NanoRun.Storage;

/// <summary>The shared provider's world: a fresh database in the test cluster per test.</summary>
public sealed class PostgreSqlStoreWorld : StoreWorld
{
    private TestDatabase? _database;
    private NpgsqlDataSource? _dataSource;

    public override async Task<ProviderStores> OpenAsync(TimeProvider time)
    {
        _database ??= await TestDatabase.CreateAsync();
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        _dataSource = PostgreSqlDataSource.Create(_database.ConnectionString);
        return new ProviderStores(new PostgreSqlRequestStore(_dataSource, time), new PostgreSqlBlobStore(_dataSource));
    }

    public override async ValueTask DisposeAsync()
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

public sealed class PostgreSqlRequestQueueConformanceTests : RequestQueueConformanceTests<PostgreSqlStoreWorld>;

public sealed class PostgreSqlRequestHistoryConformanceTests : RequestHistoryConformanceTests<PostgreSqlStoreWorld>;

public sealed class PostgreSqlBlobStoreConformanceTests : BlobStoreConformanceTests<PostgreSqlStoreWorld>;

public sealed class PostgreSqlCallbackStoreConformanceTests : CallbackStoreConformanceTests<PostgreSqlStoreWorld>;

public sealed class PostgreSqlNodeStoreConformanceTests : NodeStoreConformanceTests<PostgreSqlStoreWorld>;

/// <summary>The pause store contract on PostgreSQL.</summary>
public sealed class PostgreSqlPauseStoreConformanceTests : PauseStoreConformanceTests<PostgreSqlStoreWorld>;
public sealed class PostgreSqlBulkConformanceTests : BulkConformanceTests<PostgreSqlStoreWorld>;
