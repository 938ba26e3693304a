using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using NanoRun.Requests;

namespace NanoRun.Storage.Sqlite;

/// <summary>Behaviour of the embedded store beyond the shared contract: the folder lock and single-node recovery.</summary>
public sealed class SqliteRequestStoreTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Initialize_ReopenedStore_RequeuesRunningRequests()
    {
        var id = RequestId.New(_time);
        await using (var first = await OpenAsync())
        {
            await first.EnqueueAsync(new NewRequest(id, "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow()));
            await first.ClaimAsync(new ClaimParams("unit", 1, "node-a", _time.GetUtcNow(), _time.GetUtcNow().AddHours(1)));
        }

        await using var reopened = await OpenAsync();
        var record = await reopened.GetAsync(id);
        var claimed = await reopened.ClaimAsync(new ClaimParams("unit", 1, "node-b", _time.GetUtcNow(), _time.GetUtcNow().AddHours(1)));

        Assert.Equal(RequestState.Queued, record!.State);
        Assert.Equal(id, Assert.Single(claimed).Id);
    }

    [Fact]
    public async Task Claim_UnsyncedCommit_IsVisibleAndLeavesTheWriterFlushingEveryCommit()
    {
        var id = RequestId.New(_time);
        await using var store = await OpenAsync();
        await store.EnqueueAsync(new NewRequest(id, "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow()));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var claimed = await store.ClaimAsync(new ClaimParams("unit", 1, "node-a", _time.GetUtcNow(), _time.GetUtcNow().AddHours(1)));
        var afterClaim = await store.WriterSynchronousAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.ClaimAsync(new ClaimParams("unit", 1, "node-a", _time.GetUtcNow(), _time.GetUtcNow().AddHours(1)), cancelled.Token));
        var afterFailedClaim = await store.WriterSynchronousAsync();
        var record = await store.GetAsync(id);

        Assert.Equal(id, Assert.Single(claimed).Id);
        Assert.Equal(RequestState.Running, record!.State);
        Assert.Equal(2, afterClaim); // FULL
        Assert.Equal(2, afterFailedClaim);
    }

    [Fact]
    public async Task Initialize_SecondStoreOnSameFolder_FailsWithClearMessage()
    {
        await using var first = await OpenAsync();
        await using var second = new SqliteRequestStore(_folder.Path, _time);

        var error = await Assert.ThrowsAsync<IOException>(() => second.InitializeAsync());

        Assert.Equal($"data folder {_folder.Path} is in use by another nano-run process", error.Message);
    }

    [Fact]
    public async Task Initialize_AfterFirstStoreDisposed_Succeeds()
    {
        await (await OpenAsync()).DisposeAsync();

        await using var second = await OpenAsync();

        Assert.Null(await second.GetAsync(RequestId.New(_time)));
    }

    [Fact]
    public async Task Initialize_FolderLockedByAnotherProcess_FailsWithClearMessage()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/usr/bin/flock"))
        {
            return;
        }

        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", [Path.Join(_folder.Path, "nano-run.lock"), "-c", "echo held; exec sleep 60"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("held", await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            await using var store = new SqliteRequestStore(_folder.Path, _time);

            var error = await Assert.ThrowsAsync<IOException>(() => store.InitializeAsync());

            Assert.Contains("is in use by another nano-run process", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Lock_OpenStore_IsVisibleToOtherProcesses()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/usr/bin/flock"))
        {
            return;
        }

        await using var store = await OpenAsync();

        using var probe = Process.Start("/usr/bin/flock", ["--nonblock", Path.Join(_folder.Path, "nano-run.lock"), "true"]);
        await probe.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, probe.ExitCode);
    }

    [Fact]
    public async Task Initialize_NewerSchema_FailsWithClearMessage()
    {
        await (await OpenAsync()).DisposeAsync();
        await using (var connection = new SqliteConnection($"Data Source={Path.Join(_folder.Path, "nano-run.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99";
            await command.ExecuteNonQueryAsync();
        }

        await using var store = new SqliteRequestStore(_folder.Path, _time);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());

        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Initialize_SchemaVersionOne_AddsDedupeKeysAndKeepsRequests()
    {
        var old = RequestId.New(_time);
        await using (var connection = new SqliteConnection($"Data Source={Path.Join(_folder.Path, "nano-run.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.Migrations[0] + $"""
                ;INSERT INTO requests (id, unit, state, method, uri, headers, body_inline, body_length, created_at, updated_at, next_run_at)
                VALUES ('{old}', 'unit', 0, 'POST', '/', '[]', x'', 0, 1, 1, 1);
                PRAGMA user_version = 1;
                """;
            await command.ExecuteNonQueryAsync();
        }

        await using var store = await OpenAsync();
        var first = await store.EnqueueAsync(new NewRequest(RequestId.New(_time), "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow(), "tick"));
        var again = await store.EnqueueAsync(new NewRequest(RequestId.New(_time), "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow(), "tick"));

        Assert.Equal(RequestState.Queued, (await store.GetAsync(old))!.State);
        Assert.True(first);
        Assert.False(again);
    }

    [Fact]
    public async Task Initialize_SchemaVersionFour_KeepsAttemptsWithoutStderrAndRequestsWithoutDelay()
    {
        var old = RequestId.New(_time);
        await using (var connection = new SqliteConnection($"Data Source={Path.Join(_folder.Path, "nano-run.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = string.Join(";", SqliteSchema.Migrations[..4]) + $"""
                ;INSERT INTO requests (id, unit, state, method, uri, headers, body_inline, body_length, created_at, updated_at, completed_at, next_run_at, attempt_count)
                VALUES ('{old}', 'unit', 4, 'POST', '/', '[]', x'', 0, 1000, 3000, 3000, 1000, 1);
                INSERT INTO attempts (request_id, number, id, code, headers, result_inline, result_length, started_at, created_at)
                VALUES ('{old}', 1, '{RequestId.New(_time)}', 502, '[]', x'', 0, 2000, 3000);
                PRAGMA user_version = 4;
                """;
            await command.ExecuteNonQueryAsync();
        }

        await using var store = await OpenAsync();
        var record = await store.GetAsync(old);
        var summary = await store.PageAsync(new PageParams("unit", 10)).SingleAsync();

        Assert.Null(record!.NotBefore);
        Assert.Equal(0, record.Attempts.Single().Stderr.Length);
        Assert.Equal(TimeSpan.FromSeconds(1), summary.Ran);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(2000), summary.FirstStartedAt);
    }

    [Fact]
    public async Task Enqueue_BeforeInitialize_Throws()
    {
        await using var store = new SqliteRequestStore(_folder.Path, _time);

        var enqueue = () => store.EnqueueAsync(new NewRequest(RequestId.New(_time), "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow()));

        await Assert.ThrowsAsync<InvalidOperationException>(enqueue);
    }

    [Fact]
    public async Task Enqueue_DuplicateIdAmongConcurrent_FailsOnlyThatOne()
    {
        await using var store = await OpenAsync();
        var duplicate = RequestId.New(_time);
        await store.EnqueueAsync(new NewRequest(duplicate, "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow()));
        var ids = Enumerable.Range(0, 50).Select(_ => RequestId.New(_time)).Append(duplicate).ToArray();

        var results = await Task.WhenAll(ids.Select(id => Task.Run(async () =>
        {
            try
            {
                await store.EnqueueAsync(new NewRequest(id, "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow()));
                return true;
            }
            catch (SqliteException)
            {
                return false;
            }
        })));

        Assert.Equal(50, results.Count(ok => ok));
        Assert.False(results[^1]);
    }

    [Fact]
    public async Task RecordAttempt_ConcurrentWhileWriterBusy_ShareOneCommit()
    {
        await using var store = await OpenAsync();
        var claimed = await EnqueueAndClaimAsync(store, 20);
        var before = store.GroupCommits;

        Task<RequestState?>[] records;
        using (await store.HoldWritesAsync())
        {
            records = claimed.Select(c => Task.Run(() => store.RecordAttemptAsync(Succeeded(c)))).ToArray();
            await WhenPendingAsync(store, records.Length);
        }

        var states = await Task.WhenAll(records);
        var stored = await Task.WhenAll(claimed.Select(c => store.GetAsync(c.Id)));

        Assert.All(states, s => Assert.Equal(RequestState.Succeeded, s));
        Assert.All(stored, r => Assert.Equal(RequestState.Succeeded, r!.State));
        Assert.Equal(before + 1, store.GroupCommits);
    }

    [Fact]
    public async Task RecordAttempt_BatchWithFailingEnqueue_CommitsEveryRecord()
    {
        await using var store = await OpenAsync();
        var claimed = await EnqueueAndClaimAsync(store, 10);
        var duplicate = new NewRequest(claimed[0].Id, "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow());

        Task<RequestState?>[] records;
        Task<bool> failing;
        using (await store.HoldWritesAsync())
        {
            records = claimed.Take(5).Select(c => store.RecordAttemptAsync(Succeeded(c))).ToArray();
            failing = store.EnqueueAsync(duplicate);
            records = [.. records, .. claimed.Skip(5).Select(c => store.RecordAttemptAsync(Succeeded(c)))];
            await WhenPendingAsync(store, records.Length + 1);
        }

        await Assert.ThrowsAsync<SqliteException>(() => failing);
        var states = await Task.WhenAll(records);
        await store.DisposeAsync();
        await using var reopened = await OpenAsync();
        var stored = await Task.WhenAll(claimed.Select(c => reopened.GetAsync(c.Id)));

        Assert.All(states, s => Assert.Equal(RequestState.Succeeded, s));
        Assert.All(stored, r => Assert.Equal(RequestState.Succeeded, r!.State));
        Assert.All(stored, r => Assert.Single(r!.Attempts));
    }

    [Fact]
    public async Task Dispose_Twice_DoesNothingMore()
    {
        var store = await OpenAsync();

        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetAsync(RequestId.New(_time)));
    }

    [Theory]
    [InlineData(SqliteSchema.Claim, "requests_due")]
    [InlineData(SqliteSchema.NextDue, "requests_due")]
    [InlineData(SqliteSchema.RequeueExpired, "requests_running")]
    [InlineData(SqliteSchema.SelectPurgeable, "requests_completed")]
    [InlineData(SqliteSchema.PageStateBefore, "requests_page_state")]
    [InlineData(SqliteSchema.PageBefore, "requests_page")]
    public async Task QueryPlan_HotQuery_UsesItsIndexWithoutSorting(string sql, string index)
    {
        await (await OpenAsync()).DisposeAsync();
        await using var connection = new SqliteConnection($"Data Source={Path.Join(_folder.Path, "nano-run.db")};Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var name in new[] { "@owner", "@until", "@now", "@unit", "@limit", "@before", "@state" })
        {
            command.Parameters.AddWithValue(name, 1);
        }

        var plan = new List<string>();
        using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(3));
            }
        }

        Assert.Contains(plan, step => step.Contains($"INDEX {index} ", StringComparison.Ordinal) || step.EndsWith($"INDEX {index}", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.Contains("TEMP B-TREE", StringComparison.Ordinal));
    }

    private static async Task WhenPendingAsync(SqliteRequestStore store, int count)
    {
        // The writes are handed over from other threads; the commit loop takes none while the writer is held.
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (store.PendingWrites < count)
        {
            await Task.Delay(5, patience.Token);
        }
    }

    private async Task<IReadOnlyList<ClaimedRequest>> EnqueueAndClaimAsync(SqliteRequestStore store, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await store.EnqueueAsync(new NewRequest(RequestId.New(_time), "unit", "POST", "/", [], BodyRef.Empty, _time.GetUtcNow()));
        }

        return await store.ClaimAsync(new ClaimParams("unit", count, "node-a", _time.GetUtcNow(), _time.GetUtcNow().AddHours(1)));
    }

    private AttemptOutcome Succeeded(ClaimedRequest claimed) => new(
        claimed.Id,
        "node-a",
        new AttemptRecord(RequestId.New(_time), claimed.AttemptsSoFar + 1, 200, [], BodyRef.Empty, _time.GetUtcNow(), _time.GetUtcNow()),
        RequestState.Succeeded,
        _time.GetUtcNow());

    private async Task<SqliteRequestStore> OpenAsync()
    {
        var store = new SqliteRequestStore(_folder.Path, _time);
        await store.InitializeAsync();
        return store;
    }
}
