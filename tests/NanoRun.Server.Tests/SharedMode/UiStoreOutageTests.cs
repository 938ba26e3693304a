using System.Diagnostics;
using System.Net;
using NanoRun.Storage.PostgreSql;

namespace NanoRun.Server.Tests.SharedMode;

/// <summary>UI pages while the database is away answer a 503 page with <c>Retry-After</c> within the client's time-out, and
/// recover by themselves once it is back.</summary>
public sealed class UiStoreOutageTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task UiPage_DatabaseStopped_Answers503PageWithRetryAfterThenRecovers()
    {
        await using var cluster = await PostgreSqlCluster.StartPrivateAsync();
        var database = await cluster.CreateDatabaseAsync();
        await using var world = await TestWorld.Create().WithPostgreSql(database.ConnectionString).WithUnit("job", "command: cat\n").StartAsync();
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = ClientTimeout };
        await world.WaitCompleteAsync("job", await world.PostAsync("job", "before"));

        await cluster.StopServerAsync();
        var clock = Stopwatch.StartNew();
        using var away = await browser.GetAsync(new Uri(world.BaseAddress, "ui/units/job"));
        var took = clock.Elapsed;
        var page = await away.Content.ReadAsStringAsync();
        await cluster.StartServerAsync();
        using var back = await WaitPageAsync(browser, new Uri(world.BaseAddress, "ui/units/job"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, away.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), away.Headers.RetryAfter?.Delta);
        Assert.Equal("text/html", away.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Store unavailable", page, StringComparison.Ordinal);
        Assert.True(took < ClientTimeout, $"the page took {took}");
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
    }

    private static async Task<HttpResponseMessage> WaitPageAsync(HttpClient client, Uri page)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var response = await client.GetAsync(page);
            if (response.StatusCode == HttpStatusCode.OK || DateTime.UtcNow > deadline)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(100);
        }
    }
}
