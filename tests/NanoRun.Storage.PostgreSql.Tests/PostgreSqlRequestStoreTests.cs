using System.Text;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using NanoRun.Requests;
using NanoRun.Storage.PostgreSql;

namespace NanoRun.Storage;

/// <summary>What the shared provider does beyond the conformance suite: several nodes on one database.</summary>
public sealed class PostgreSqlRequestStoreTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
    private readonly List<IAsyncDisposable> _owned = [];
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Initialize_SecondNodeStarts_LeavesFirstNodesRunningRequestsAlone()
    {
        var (first, _) = await OpenNodeAsync();
        await first.EnqueueAsync(NewRequest());
        var claimed = Assert.Single(await first.ClaimAsync(Claim("node-a")));

        var (second, _) = await OpenNodeAsync();
        var record = await second.GetAsync(claimed.Id);
        var stolen = await second.ClaimAsync(Claim("node-b"));

        Assert.Equal(RequestState.Running, record!.State);
        Assert.Empty(stolen);
    }

    [Fact]
    public async Task Initialize_NodesStartingTogether_MigrateOnceWithoutErrors()
    {
        var nodes = new PostgreSqlRequestStore[6];
        for (var i = 0; i < nodes.Length; i++)
        {
            nodes[i] = Own(new PostgreSqlRequestStore(Own(PostgreSqlDataSource.Create(_database.ConnectionString)), _time));
        }

        await Task.WhenAll(nodes.Select(n => Task.Run(() => n.InitializeAsync())));

        Assert.Equal(PostgreSqlSchema.Migrations.Length, await ScalarAsync<int>("SELECT version FROM nano_run_schema"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM nano_run_schema"));
    }

    [Fact]
    public async Task Initialize_NewerSchema_FailsWithClearMessage()
    {
        await OpenNodeAsync();
        await ScalarAsync<int>("UPDATE nano_run_schema SET version = 99 RETURNING version");

        var store = Own(new PostgreSqlRequestStore(Own(PostgreSqlDataSource.Create(_database.ConnectionString)), _time));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());

        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
        Assert.Contains("upgrade", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enqueue_BeforeInitialize_Throws()
    {
        var store = Own(new PostgreSqlRequestStore(Own(PostgreSqlDataSource.Create(_database.ConnectionString)), _time));

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.EnqueueAsync(NewRequest()));
    }

    [Fact]
    public async Task QueueSignal_EnqueueOnAnotherNode_WakesSubscriberWithUnit()
    {
        var (listener, _) = await OpenNodeAsync();
        var (sender, _) = await OpenNodeAsync();
        var heard = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = ((IQueueSignal)listener).Subscribe(unit => heard.TrySetResult(unit));
        await WaitListeningAsync();

        await sender.EnqueueAsync(NewRequest("other-unit"));

        Assert.Equal("other-unit", await heard.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task QueueSignal_ExpiredLeaseRequeued_WakesSubscriber()
    {
        var (listener, _) = await OpenNodeAsync();
        var (reaper, _) = await OpenNodeAsync();
        await reaper.EnqueueAsync(NewRequest());
        await reaper.ClaimAsync(Claim("node-dead", TimeSpan.FromSeconds(1)));
        var heard = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = ((IQueueSignal)listener).Subscribe(unit => heard.TrySetResult(unit));
        await WaitListeningAsync();
        _time.Advance(TimeSpan.FromSeconds(2));

        var requeued = await reaper.RequeueExpiredAsync(_time.GetUtcNow());

        Assert.Equal(1, requeued);
        Assert.Equal("unit", await heard.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task BlobWrite_SeveralChunks_StreamsBackAndKeepsOneRowPerChunk()
    {
        var (_, blobs) = await OpenNodeAsync();
        var data = new byte[(PostgreSqlBlobStore.ChunkSize * 3) + 17];
        Random.Shared.NextBytes(data);
        var key = $"{RequestId.New(_time)}/body";

        var body = await blobs.WriteAsync(key, new TrickleStream(data, 50_000), 0);
        await using var stream = await blobs.OpenReadAsync(body);
        using var copy = new MemoryStream();
        await stream!.CopyToAsync(copy, 10_000);

        Assert.Equal(data, copy.ToArray());
        Assert.Equal(4L, await ScalarAsync<long>("SELECT count(*) FROM nano_run_blob_chunks"));
    }

    [Fact]
    public async Task BlobWrite_OverLimitOrCancelled_LeavesNoRows()
    {
        var (_, blobs) = await OpenNodeAsync();
        using var cts = new CancellationTokenSource();
        var big = new byte[PostgreSqlBlobStore.ChunkSize * 3];

        await Assert.ThrowsAsync<BodyTooLargeException>(() => blobs.WriteAsync($"{RequestId.New(_time)}/body", new MemoryStream(big), PostgreSqlBlobStore.ChunkSize * 2));
        var cancelled = new TrickleStream(big, 64 * 1024, afterReads: 6, onRead: cts.Cancel);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blobs.WriteAsync($"{RequestId.New(_time)}/body", cancelled, 0, cts.Token));

        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM nano_run_blob_chunks"));
    }

    [Fact]
    public async Task BlobWrite_SameKeyTwice_SecondReplacesFirst()
    {
        var (_, blobs) = await OpenNodeAsync();
        var key = $"{RequestId.New(_time)}/body";
        await blobs.WriteAsync(key, new MemoryStream(new byte[PostgreSqlBlobStore.ChunkSize * 2]), 0);

        var body = await blobs.WriteAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(new string('x', 10_000))), 0);
        await using var stream = await blobs.OpenReadAsync(body);
        using var reader = new StreamReader(stream!);

        Assert.Equal(new string('x', 10_000), await reader.ReadToEndAsync());
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM nano_run_blob_chunks"));
    }

    private async Task<(PostgreSqlRequestStore Store, PostgreSqlBlobStore Blobs)> OpenNodeAsync()
    {
        var dataSource = Own(PostgreSqlDataSource.Create(_database.ConnectionString));
        var store = Own(new PostgreSqlRequestStore(dataSource, _time));
        await store.InitializeAsync();
        return (store, new PostgreSqlBlobStore(dataSource));
    }

    private T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>Waits until some session of this database is listening on the queue channel.</summary>
    private async Task WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the store did not start listening");
            await Task.Delay(20);
        }
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        await using var command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private NewRequest NewRequest(string unit = "unit") =>
        new(RequestId.New(_time), unit, "POST", $"/api/{unit}/", [], new BodyRef(null, [1], 1), _time.GetUtcNow());

    private ClaimParams Claim(string owner, TimeSpan? leaseFor = null) =>
        new("unit", 10, owner, _time.GetUtcNow(), _time.GetUtcNow() + (leaseFor ?? TimeSpan.FromSeconds(30)));
}
