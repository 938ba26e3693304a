using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Queue;
using NanoRun.Units;

namespace NanoRun.Server.Tests.HotReload;

public sealed class HotReloadTests
{
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Reload_NewUnitFile_EndpointAnswersAndRunsRequests()
    {
        await using var world = await TestWorld.Create().WithUnit("first", "command: echo first\n").StartAsync();

        world.WithUnit("second", "command: echo added\n");
        await EventuallyAsync(async () => await PostStatusAsync(world, "second") == HttpStatusCode.SeeOther, "the new unit never answered");
        var id = await world.PostAsync("second", "x");
        var record = await world.WaitCompleteAsync("second", id);

        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.Equal("added\n", await LastResultAsync(world, "second", record));
    }

    [Fact]
    public async Task Reload_ChangedCommand_NewRequestsRunTheNewCommand()
    {
        await using var world = await TestWorld.Create().WithUnit("job", "command: echo one\n").StartAsync();
        var before = await world.WaitCompleteAsync("job", await world.PostAsync("job", "x"));

        world.WithUnit("job", "command: echo two\nattempts: 1\n");
        await EventuallyAsync(() => Task.FromResult(Catalog(world).Find("job")?.Command == "echo two"), "the changed unit was never loaded");
        var after = await world.WaitCompleteAsync("job", await world.PostAsync("job", "x"));

        Assert.Equal("one\n", await LastResultAsync(world, "job", before));
        Assert.Equal("two\n", await LastResultAsync(world, "job", after));
        Assert.Equal(1, Catalog(world).Find("job")!.Attempts);
    }

    [Fact]
    public async Task Reload_RemovedUnit_RefusesPostsKeepsHistoryAndResumesQueuedRequestsWhenBack()
    {
        await using var world = TestWorld.Create();
        var started = Path.Combine(world.Root, "started");
        var gate = Path.Combine(world.Root, "gate");
        await world.WithUnit("job", $"command: 'touch {started}; while [ ! -f {gate} ]; do sleep 0.05; done; echo old'\nworkers: 1\n").StartAsync();
        var running = await world.PostAsync("job", "1");
        await EventuallyAsync(() => Task.FromResult(File.Exists(started)), "the first request never started");
        var queued = await world.PostAsync("job", "2");

        File.Delete(Path.Combine(world.ConfigDirectory, "job.yaml"));
        await EventuallyAsync(async () => await PostStatusAsync(world, "job") == HttpStatusCode.Gone, "the removed unit kept taking requests");
        await File.WriteAllTextAsync(gate, string.Empty);
        var finished = await world.WaitCompleteAsync("job", running);
        var waiting = await world.GetRecordAsync("job", queued);
        world.WithUnit("job", "command: echo back\n");
        var resumed = await world.WaitCompleteAsync("job", queued);

        Assert.Equal("old\n", await LastResultAsync(world, "job", finished));
        Assert.False(waiting.GetProperty("complete").GetBoolean());
        Assert.Equal("back\n", await LastResultAsync(world, "job", resumed));
    }

    [Fact]
    public async Task Reload_UnknownUnitAfterRemoval_AnswersNotFoundWhileRemovedAnswersGone()
    {
        await using var world = await TestWorld.Create().WithUnit("keep", "command: echo keep\n").WithUnit("drop", "command: echo drop\n").StartAsync();
        var id = await world.PostAsync("drop", "x");
        await world.WaitCompleteAsync("drop", id);

        File.Delete(Path.Combine(world.ConfigDirectory, "drop.yaml"));
        await EventuallyAsync(() => Task.FromResult(Catalog(world).Find("drop") is null), "the unit was never removed");
        using var retry = await world.Client.PostAsync($"api/drop/{id}", new StringContent(string.Empty));
        using var history = await world.Client.GetAsync($"api/drop/{id}");

        Assert.Equal(HttpStatusCode.Gone, await PostStatusAsync(world, "drop"));
        Assert.Equal(HttpStatusCode.Gone, retry.StatusCode);
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, await PostStatusAsync(world, "never"));
        Assert.Equal(HttpStatusCode.SeeOther, await PostStatusAsync(world, "keep"));
    }

    [Fact]
    public async Task Reload_BrokenFile_ReportsFileAndKeyAndOldVersionKeepsAnswering()
    {
        await using var world = await TestWorld.Create().WithUnit("job", "command: echo one\n").StartAsync();
        var reloader = world.Services.GetRequiredService<UnitFolderReloader>();
        var unit = Catalog(world).Find("job");

        world.WithUnit("job", "command: echo two\nattempts: many\n");
        await EventuallyAsync(() => Task.FromResult(reloader.Problems.Count > 0), "the broken file was never reported");
        var record = await world.WaitCompleteAsync("job", await world.PostAsync("job", "x"));

        var problem = Assert.Single(reloader.Problems);
        Assert.EndsWith("job.yaml", problem.Key, StringComparison.Ordinal);
        Assert.Contains("'attempts'", problem.Value, StringComparison.Ordinal);
        Assert.Same(unit, Catalog(world).Find("job"));
        Assert.Equal("one\n", await LastResultAsync(world, "job", record));
    }

    [Fact]
    public async Task Reload_FixedFileAfterError_ClearsTheProblemAndAppliesTheFix()
    {
        await using var world = await TestWorld.Create().WithUnit("job", "command: echo one\n").StartAsync();
        var reloader = world.Services.GetRequiredService<UnitFolderReloader>();
        world.WithUnit("job", "mode: sideways\n");
        await EventuallyAsync(() => Task.FromResult(reloader.Problems.Count > 0), "the broken file was never reported");

        world.WithUnit("job", "command: echo fixed\n");
        await EventuallyAsync(() => Task.FromResult(reloader.Problems.Count == 0 && Catalog(world).Find("job")?.Command == "echo fixed"), "the fix was never applied");
        var record = await world.WaitCompleteAsync("job", await world.PostAsync("job", "x"));

        Assert.Equal("fixed\n", await LastResultAsync(world, "job", record));
    }

    [Fact]
    public async Task Reload_UnchangedFileTouched_KeepsTheSameDefinition()
    {
        await using var world = await TestWorld.Create().WithUnit("job", "command: echo one\n").WithUnit("other", "command: echo other\n").StartAsync();
        var unit = Catalog(world).Find("job");

        world.WithUnit("job", "command: echo one\n");
        world.WithUnit("other", "command: echo changed\n");
        await EventuallyAsync(() => Task.FromResult(Catalog(world).Find("other")?.Command == "echo changed"), "the change was never loaded");

        Assert.Same(unit, Catalog(world).Find("job"));
    }

    [Fact]
    public async Task Reload_ScheduleAddedToUnit_QueuesRequestsOnItsTicks()
    {
        await using var world = await TestWorld.Create().WithUnit("tick", "command: echo tick\n").StartAsync();
        var engine = world.Services.GetRequiredService<NanoRunEngine>();

        world.WithUnit("tick", "command: echo tick\ncron:\n  - spec: '@every 1s'\n");
        await EventuallyAsync(
            async () => (await engine.Store.CountByStateAsync("tick", CancellationToken.None)).Succeeded > 0,
            "the added schedule never queued a request");

        Assert.Single(Catalog(world).Find("tick")!.Cron);
    }

    private static UnitCatalog Catalog(TestWorld world) => world.Services.GetRequiredService<NanoRunEngine>().Units;

    private static async Task<HttpStatusCode> PostStatusAsync(TestWorld world, string unit)
    {
        using var response = await world.Client.PostAsync($"api/{unit}/", new StringContent("probe"));
        return response.StatusCode;
    }

    private static async Task<string> LastResultAsync(TestWorld world, string unit, System.Text.Json.JsonElement record)
    {
        var attempts = record.GetProperty("attempts");
        var last = attempts[attempts.GetArrayLength() - 1].GetProperty("id").GetString()!;
        return await world.GetResultAsync(unit, record.GetProperty("id").GetString()!, last);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds, failing with <paramref name="failure"/> after the reload timeout.</summary>
    internal static async Task EventuallyAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + ReloadTimeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }
}
