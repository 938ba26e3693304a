using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.Storage.PostgreSql;
using Npgsql;

namespace NanoRun.Server.Tests.SharedMode;

/// <summary>A host queues work inside its own PostgreSQL transaction: the request exists, and runs, only if the host commits.</summary>
public sealed class TransactionalEnqueueTests
{
    // Over one chunk (256 KiB), so the body is stored as chunk rows in the host's transaction, not inline in the record.
    private static readonly byte[] LargeBody = CreateBody(300 * 1024);

    [Fact]
    public async Task EnqueueInTransaction_Commit_RequestAndHostRowAppearTogetherAndRun()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var world = await TestWorld.Create().WithPostgreSql(database.ConnectionString).WithUnit("echo", "command: cat\n").StartAsync();
        var queue = world.Services.GetRequiredService<INanoRunQueue>();
        await using var connection = await OpenHostConnectionAsync(database);

        string id;
        HttpStatusCode beforeCommit;
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO orders VALUES (1)");
            var result = await queue.EnqueueAsync(transaction, "echo", new MemoryStream(LargeBody));
            id = result.Id!;
            using (var early = await world.Client.GetAsync($"api/echo/{id}"))
            {
                beforeCommit = early.StatusCode;
            }

            await transaction.CommitAsync();
        }

        var record = await world.WaitCompleteAsync("echo", id, TimeSpan.FromSeconds(60));
        var attempt = record.GetProperty("attempts")[0].GetProperty("id").GetString()!;
        var output = await world.Client.GetByteArrayAsync($"api/echo/{id}/attempt/{attempt}");

        Assert.Equal(HttpStatusCode.NotFound, beforeCommit);
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.Equal(LargeBody, output);
        Assert.Equal(1L, await CountAsync(connection, "SELECT count(*) FROM orders"));
    }

    [Fact]
    public async Task EnqueueInTransaction_Rollback_LeavesNoRequestNoBodyAndRunsNothing()
    {
        await using var database = await TestDatabase.CreateAsync();
        var ran = Path.Combine(Path.GetTempPath(), "nano-run-ran-" + Guid.NewGuid().ToString("N"));
        await using var world = await TestWorld.Create().WithPostgreSql(database.ConnectionString)
            .WithUnit("echo", $"command: 'cat > {ran}'\n").StartAsync();
        var queue = world.Services.GetRequiredService<INanoRunQueue>();
        await using var connection = await OpenHostConnectionAsync(database);

        string id;
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO orders VALUES (2)");
            id = (await queue.EnqueueAsync(transaction, "echo", new MemoryStream(LargeBody))).Id!;
            await transaction.RollbackAsync();
        }

        // Longer than a poll interval, so a worker would have claimed anything that was visible.
        await Task.Delay(TimeSpan.FromSeconds(2));
        using var record = await world.Client.GetAsync($"api/echo/{id}");

        Assert.Equal(32, id.Length);
        Assert.Equal(HttpStatusCode.NotFound, record.StatusCode);
        Assert.Equal(0L, await CountAsync(connection, "SELECT count(*) FROM orders"));
        Assert.Equal(0L, await CountAsync(connection, "SELECT count(*) FROM nano_run_requests"));
        Assert.Equal(0L, await CountAsync(connection, "SELECT count(*) FROM nano_run_blob_chunks"));
        Assert.False(File.Exists(ran));
    }

    private static async Task<NpgsqlConnection> OpenHostConnectionAsync(TestDatabase database)
    {
        var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS orders (id integer PRIMARY KEY)");
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static byte[] CreateBody(int length)
    {
        var body = new byte[length];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)('a' + (i % 26));
        }

        return body;
    }
}
