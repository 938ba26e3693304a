using NanoRun.Requests;
using NanoRun.Scheduling;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Scheduling;

public sealed class CronSchedulerTests
{
    private static readonly DateTimeOffset Start = SchedulerWorld.Start;

    [Fact]
    public async Task Scheduler_EverySecondOnPrivateUnit_QueuesOneRequestPerSecond()
    {
        var unit = new UnitDefinition { Name = "tick", Command = "echo ok", Private = true, Cron = [new CronEntry { Spec = "@every 1s" }] };
        await using var world = await SchedulerWorld.StartAsync(timers: 1, unit);

        var counts = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            await world.AdvanceAsync(TimeSpan.FromSeconds(1));
            counts.Add((await world.RequestsAsync("tick")).Count);
        }

        var requests = await world.RequestsAsync("tick");
        Assert.Equal([1, 2, 3], counts);
        Assert.Equal([Start.AddSeconds(1), Start.AddSeconds(2), Start.AddSeconds(3)], requests.Select(r => r.CreatedAt));
        var (record, result) = await world.WaitFinalAsync(requests[0].Id);
        Assert.Equal(RequestState.Succeeded, record.State);
        Assert.Equal("ok\n", result);
        Assert.Equal("POST", record.Method);
        Assert.Equal("/api/tick/?cron=0", record.Uri);
    }

    [Fact]
    public async Task Scheduler_EveryFiveMinutes_FiresOnlyAtMultiplesOfFive()
    {
        var unit = SchedulerWorld.Unit("report", "echo ok", new CronEntry { Spec = "*/5 * * * *" });
        await using var world = await SchedulerWorld.StartAsync(timers: 1, unit);

        for (var minute = 1; minute <= 20; minute++)
        {
            if (minute % 5 == 0)
            {
                await world.AdvanceAsync(TimeSpan.FromMinutes(1));
            }
            else
            {
                world.Time.Advance(TimeSpan.FromMinutes(1));
            }
        }

        var requests = await world.RequestsAsync("report");
        Assert.Equal([Start.AddMinutes(5), Start.AddMinutes(10), Start.AddMinutes(15), Start.AddMinutes(20)], requests.Select(r => r.CreatedAt));
    }

    [Fact]
    public async Task Scheduler_ContentAndHeaders_ReachTheCommand()
    {
        using var temp = new Units.TempDirectory();
        var ignored = temp.Write("ignored.txt", "from the file");
        var entry = new CronEntry
        {
            Spec = "@every 1s",
            Name = "nightly run",
            Headers = new Dictionary<string, string> { ["X-Source"] = "cron", ["Content-Type"] = "text/plain" },
            Content = "hello, world",
            ContentFile = ignored,
        };
        var unit = SchedulerWorld.Unit("report", """printf '%s|' "$X_SOURCE"; cat""", entry);
        await using var world = await SchedulerWorld.StartAsync(timers: 1, unit);

        await world.AdvanceAsync(TimeSpan.FromSeconds(1));

        var (record, result) = await world.WaitFinalAsync(Assert.Single(await world.RequestsAsync("report")).Id);
        Assert.Equal("cron|hello, world", result);
        Assert.Equal("/api/report/?cron=nightly%20run", record.Uri);
        Assert.Contains(new KeyValuePair<string, string>("X-Source", "cron"), record.Headers);
        Assert.Contains(new KeyValuePair<string, string>("Content-Type", "text/plain"), record.Headers);
    }

    [Fact]
    public async Task Scheduler_ContentFile_IsQueuedAsTheBody()
    {
        using var temp = new Units.TempDirectory();
        var text = string.Concat(Enumerable.Range(0, 5000).Select(i => $"line {i}\n"));
        var path = temp.Write("payload.txt", text);
        var unit = SchedulerWorld.Unit("import", "cat", new CronEntry { Spec = "@every 1m", ContentFile = path });
        await using var world = await SchedulerWorld.StartAsync(timers: 1, unit);

        await world.AdvanceAsync(TimeSpan.FromMinutes(1));

        var (record, result) = await world.WaitFinalAsync(Assert.Single(await world.RequestsAsync("import")).Id);
        Assert.Equal(text, result);
        Assert.Equal(text.Length, record.Body.Length);
        Assert.NotNull(record.Body.Key);
    }

    [Fact]
    public async Task Scheduler_MissingContentFile_SkipsTheTickAndTheNextOneFires()
    {
        using var temp = new Units.TempDirectory();
        var path = Path.Combine(temp.Path, "later.txt");
        var unit = SchedulerWorld.Unit("import", "cat", new CronEntry { Spec = "@every 1s", ContentFile = path });
        await using var world = await SchedulerWorld.StartAsync(timers: 1, unit);

        await world.AdvanceAsync(TimeSpan.FromSeconds(1));
        var afterMissing = await world.RequestsAsync("import");
        await File.WriteAllTextAsync(path, "now it exists");
        await world.AdvanceAsync(TimeSpan.FromSeconds(1));

        Assert.Empty(afterMissing);
        Assert.Contains(world.Log.Entries, e => e.Id.Id == 5004 && e.Message.Contains(path, StringComparison.Ordinal));
        var request = Assert.Single(await world.RequestsAsync("import"));
        Assert.Equal(Start.AddSeconds(2), request.CreatedAt);
        Assert.Equal("now it exists", (await world.WaitFinalAsync(request.Id)).Result);
    }

    [Fact]
    public async Task Scheduler_TwoNodesOnOneStore_QueueEachTickOnce()
    {
        var unit = SchedulerWorld.Unit("tick", "echo ok", new CronEntry { Spec = "@every 1s", Name = "beat" }, new CronEntry { Spec = "@every 1s" });
        await using var world = await SchedulerWorld.StartAsync(timers: 2, unit);
        await world.StartSchedulerAsync(timers: 2);

        for (var i = 0; i < 3; i++)
        {
            await world.AdvanceAsync(TimeSpan.FromSeconds(1), timers: 4);
        }

        var requests = await world.RequestsAsync("tick");
        Assert.Equal(6, requests.Count);
        Assert.Equal(2, requests.Count(r => r.CreatedAt == Start.AddSeconds(3)));
        Assert.Equal(6, world.Log.Entries.Count(e => e.Id.Id == 5003));
    }

    [Fact]
    public async Task Scheduler_AfterRestart_ContinuesFromNowWithoutReplayingMissedTicks()
    {
        var unit = SchedulerWorld.Unit("tick", "echo ok", new CronEntry { Spec = "@every 1s" });
        await using var world = await SchedulerWorld.StartAsync(timers: 1, unit);
        await world.AdvanceAsync(TimeSpan.FromSeconds(1));

        await world.Schedulers[0].StopAsync(CancellationToken.None);
        world.Time.Advance(TimeSpan.FromSeconds(10));
        await world.StartSchedulerAsync(timers: 1);
        var afterRestart = await world.RequestsAsync("tick");
        await world.AdvanceAsync(TimeSpan.FromSeconds(1));

        Assert.Single(afterRestart);
        Assert.Equal([Start.AddSeconds(1), Start.AddSeconds(12)], (await world.RequestsAsync("tick")).Select(r => r.CreatedAt));
    }

    [Fact]
    public async Task Scheduler_InvalidSpecInUnitDefinedInCode_FailsAtConstruction()
    {
        await using var world = await SchedulerWorld.StartAsync(timers: 0);
        var bad = new UnitDefinition { Name = "bad", Cron = [new CronEntry { Spec = "@daily" }, new CronEntry { Spec = "99 * * * *", Name = "nightly" }] };

        var error = Assert.Throws<InvalidOperationException>(() => new CronScheduler(new UnitCatalog([bad]), world.Admission, world.Clock, world.Log));

        Assert.Contains("unit 'bad' (defined in code), schedule nightly: '99 * * * *' is not a valid cron expression", error.Message, StringComparison.Ordinal);
    }
}
