using System.Diagnostics;
using System.Globalization;
using NanoRun.Search;
using NanoRun.Storage;
using NanoRun.Storage.Sqlite;
using NanoRun.Units;

namespace NanoRun.Bench;

/// <summary>
/// Search at scale on the embedded store: fills a fresh data folder with many requests through the store's own enqueue
/// (group-committed batches, no HTTP), then times searches by id prefix, by header value and with no match.
/// </summary>
internal static class SearchAtScale
{
    private const string UnitName = "bench";
    private const int Tenants = 100;
    private const int Repeats = 25;

    public static async Task<string> RunAsync(int total, Report report)
    {
        var folder = Path.Combine(Path.GetTempPath(), "nano-run-search-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            await using var store = new SqliteRequestStore(folder, TimeProvider.System);
            await store.InitializeAsync();
            var unit = new UnitDefinition { Name = UnitName };
            var ids = new string[total];
            var fill = Stopwatch.StartNew();
            var next = -1;
            // 256 callers keep the group commit's batches full; each request carries three header terms.
            await Parallel.ForAsync(0, 256, async (_, ct) =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < total)
                {
                    var id = Requests.RequestId.New();
                    KeyValuePair<string, string>[] headers =
                    [
                        new("Content-Type", "application/json"),
                        new("X-Order", "order-" + i.ToString(CultureInfo.InvariantCulture)),
                        new("X-Tenant", "tenant-" + (i % Tenants).ToString(CultureInfo.InvariantCulture)),
                        new("Authorization", "Bearer not-a-term"),
                    ];
                    var request = new NewRequest(id, UnitName, "POST", "/api/bench/", headers, new BodyRef(null, [1], 1), DateTimeOffset.UtcNow)
                    {
                        SearchTerms = SearchTerms.For(unit, headers),
                    };
                    await store.EnqueueAsync(request, ct);
                    ids[i] = id;
                }
            });
            fill.Stop();
            report.Add("fill: requests stored", "requests", total);
            report.Add("fill: time", "s", fill.Elapsed.TotalSeconds);
            report.Add("fill: data folder size", "MB", DirectorySize(folder) / 1048576.0);

            var random = new Random(42);
            await TimeAsync(report, store, "search by id prefix (20 chars), 1 match", () => ids[random.Next(total)][..20]);
            await TimeAsync(report, store, "search by id prefix (8 chars), first page", () => ids[random.Next(total)][..8]);
            await TimeAsync(report, store, "search by whole id, 1 match", () => ids[random.Next(total)]);
            await TimeAsync(report, store, "search by unique header value, 1 match", () => "order-" + random.Next(total).ToString(CultureInfo.InvariantCulture));
            await TimeAsync(report, store, $"search by header value on 1/{Tenants} of requests, first page", () => "tenant-" + random.Next(Tenants).ToString(CultureInfo.InvariantCulture));
            await TimeAsync(report, store, "search by header value on every request, first page", () => "application/json");
            await TimeAsync(report, store, "search with no match", () => "no-such-value-" + random.Next().ToString(CultureInfo.InvariantCulture));
            await TimeAsync(report, store, "search for a credential value (never a term)", () => "bearer not-a-term");
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

    private static long DirectorySize(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
