using System.Diagnostics;
using System.Globalization;
using NanoRun.Search;
using NanoRun.Storage;
using NanoRun.Storage.Sqlite;
using NanoRun.Units;

namespace NanoRun.Bench;

/// <summary>
/// Search at scale on the embedded store: fills a fresh data folder with many requests (a sample through the store's own
/// enqueue, the rest in SQL batches; no HTTP), then times searches by id prefix, by header value and with no match.
/// </summary>
internal static class SearchAtScale
{
    private const string UnitName = "bench";
    private const int Tenants = 100;
    private const int Repeats = 25;
    private const int SampleThroughStore = 20_000;
    private const int BulkBatch = 100_000;

    public static async Task<string> RunAsync(int total, Report report)
    {
        var folder = Path.Combine(Path.GetTempPath(), "nano-run-search-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var unit = new UnitDefinition { Name = UnitName };
            var fill = Stopwatch.StartNew();
            var sample = Math.Min(total, SampleThroughStore);
            await using (var store = new SqliteRequestStore(folder, TimeProvider.System))
            {
                await store.InitializeAsync();
                // The first requests go through the store's own enqueue (group-committed, with their terms), so the
                // rows and terms the bulk copies below imitate are the product's own.
                var next = -1;
                await Parallel.ForAsync(0, 64, async (_, ct) =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < sample)
                    {
                        var headers = Headers(i);
                        var request = new NewRequest(Requests.RequestId.New(), UnitName, "POST", "/api/bench/", headers, new BodyRef(null, [1], 1), DateTimeOffset.UtcNow)
                        {
                            SearchTerms = SearchTerms.For(unit, headers),
                        };
                        await store.EnqueueAsync(request, ct);
                    }
                });
            }

            var sampleTime = fill.Elapsed;
            await BulkFillAsync(folder, sample, total);
            fill.Stop();
            report.Add("fill: requests through the store's enqueue", "requests", sample);
            report.Add("fill: enqueue rate", "req/s", sample / sampleTime.TotalSeconds);
            report.Add("fill: requests stored", "requests", total);
            report.Add("fill: time", "s", fill.Elapsed.TotalSeconds);
            report.Add("fill: data folder size", "MB", DirectorySize(folder) / 1048576.0);

            await using var searched = new SqliteRequestStore(folder, TimeProvider.System);
            await searched.InitializeAsync();
            var ids = await SomeIdsAsync(folder);
            var store2 = searched;
            var random = new Random(42);
            await TimeAsync(report, store2, "search by id prefix (20 chars), 1 match", () => ids[random.Next(ids.Count)][..20]);
            await TimeAsync(report, store2, "search by id prefix (8 chars), first page", () => ids[random.Next(ids.Count)][..8]);
            await TimeAsync(report, store2, "search by whole id, 1 match", () => ids[random.Next(ids.Count)]);
            await TimeAsync(report, store2, "search by unique header value, 1 match", () => "order-" + random.Next(total).ToString(CultureInfo.InvariantCulture));
            await TimeAsync(report, store2, $"search by header value on 1/{Tenants} of requests, first page", () => "tenant-" + random.Next(Tenants).ToString(CultureInfo.InvariantCulture));
            await TimeAsync(report, store2, "search by header value on every request, first page", () => "application/json");
            await TimeAsync(report, store2, "search with no match", () => "no-such-value-" + random.Next().ToString(CultureInfo.InvariantCulture));
            await TimeAsync(report, store2, "search for a credential value (never a term)", () => "bearer not-a-term");
            return string.Create(CultureInfo.InvariantCulture, $"Search at {total:N0} stored requests (SQLite)");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Median and worst of <see cref="Repeats"/> first pages (50 rows, as the list's default) of one kind of search.</summary>
    private static async Task TimeAsync(Report report, SqliteRequestStore store, string name, Func<string> text)
    {
        var times = new List<double>(Repeats);
        var found = 0;
        for (var i = 0; i < Repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            found = 0;
            await foreach (var _ in store.SearchAsync(new SearchParams(UnitName, SearchTerms.Normalize(text()), 51)))
            {
                found++;
            }

            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        report.Add(name + ": median", "ms", times[times.Count / 2]);
        report.Add(name + ": worst", "ms", times[^1]);
        Console.Error.WriteLine($"{name}: median {times[times.Count / 2]:F2} ms, worst {times[^1]:F2} ms, last page {found} rows");
    }

    private static KeyValuePair<string, string>[] Headers(int i) =>
    [
        new("Content-Type", "application/json"),
        new("X-Order", "order-" + i.ToString(CultureInfo.InvariantCulture)),
        new("X-Tenant", "tenant-" + (i % Tenants).ToString(CultureInfo.InvariantCulture)),
        new("Authorization", "Bearer not-a-term"),
    ];

    /// <summary>
    /// Adds requests <paramref name="from"/> to <paramref name="total"/> in transactions of <see cref="BulkBatch"/>, in the
    /// stored shape of the enqueued ones (encoded headers, inline body) with time-ordered ids, and their three terms each.
    /// </summary>
    private static async Task BulkFillAsync(string folder, int from, int total)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + Path.Combine(folder, "nano-run.db"));
        await connection.OpenAsync();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - total;
        for (var low = from; low < total; low += BulkBatch)
        {
            var high = Math.Min(total, low + BulkBatch) - 1;
            await using var transaction = (Microsoft.Data.Sqlite.SqliteTransaction)await connection.BeginTransactionAsync();
            await using var last = connection.CreateCommand();
            last.Transaction = transaction;
            last.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM requests";
            var lastSeq = (long)(await last.ExecuteScalarAsync())!;
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO requests (id, unit, state, method, uri, headers, body_key, body_inline, body_length,
                                      created_at, updated_at, attempt_count, next_run_at)
                WITH RECURSIVE n(i) AS (SELECT @low UNION ALL SELECT i + 1 FROM n WHERE i < @high)
                SELECT printf('%012x', @start + i) || lower(hex(randomblob(10))), 'bench', 0, 'POST', '/api/bench/',
                       '[["Content-Type","application/json"],["X-Order","order-' || i || '"],["X-Tenant","tenant-' || (i % 100) || '"],["Authorization","Bearer not-a-term"]]',
                       NULL, x'01', 1, @start + i, @start + i, 0, @start + i
                FROM n
                """;
            insert.Parameters.AddWithValue("@low", low);
            insert.Parameters.AddWithValue("@high", high);
            insert.Parameters.AddWithValue("@start", start);
            await insert.ExecuteNonQueryAsync();
            await using var terms = connection.CreateCommand();
            terms.Transaction = transaction;
            terms.CommandText = """
                INSERT INTO request_terms (unit, term, seq)
                SELECT 'bench', 'application/json', seq FROM requests WHERE seq > @last
                UNION ALL
                SELECT 'bench', 'order-' || (created_at - @start), seq FROM requests WHERE seq > @last
                UNION ALL
                SELECT 'bench', 'tenant-' || ((created_at - @start) % 100), seq FROM requests WHERE seq > @last
                """;
            terms.Parameters.AddWithValue("@last", lastSeq);
            terms.Parameters.AddWithValue("@start", start);
            await terms.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            Console.Error.WriteLine($"filled {high + 1} requests");
        }
    }

    private static async Task<List<string>> SomeIdsAsync(string folder)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + Path.Combine(folder, "nano-run.db") + ";Mode=ReadOnly");
        await connection.OpenAsync();
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT id FROM requests ORDER BY random() LIMIT 200";
        var ids = new List<string>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static long DirectorySize(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
