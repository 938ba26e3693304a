using System.Net;
using NanoRun.Storage.PostgreSql;

namespace NanoRun.Server.Tests.Health;

public sealed class HealthTests
{
    [Fact]
    public async Task Probes_RunningServer_AnswerHealthy()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        using var live = await world.Client.GetAsync("healthz");
        using var ready = await world.Client.GetAsync("readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", await live.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readyz_DataFolderBelowMinFreeDisk_AnswersUnavailableWhileAlive()
    {
        await using var world = await TestWorld.Create($"min_free_disk: {long.MaxValue}\n").WithUnit("echo", "command: cat\n").StartAsync();

        using var live = await world.Client.GetAsync("healthz");
        using var ready = await world.Client.GetAsync("readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readyz_PostgreSqlDatabaseGone_AnswersUnavailableWhileAlive()
    {
        var database = await TestDatabase.CreateAsync();
        await using var world = await TestWorld.Create().WithPostgreSql(database.ConnectionString).WithUnit("echo", "command: cat\n").StartAsync();
        using var before = await world.Client.GetAsync("readyz");

        // The store becomes unreachable: its database is dropped under the running server.
        await database.DisposeAsync();
        using var after = await world.Client.GetAsync("readyz");
        using var live = await world.Client.GetAsync("healthz");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, after.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }
}
