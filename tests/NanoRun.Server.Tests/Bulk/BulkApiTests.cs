using System.Net;
using System.Text.Json;

namespace NanoRun.Server.Tests.Bulk;

/// <summary>Bulk cancel of queued requests and search over a unit's requests, through the real API.</summary>
public sealed class BulkApiTests
{
    [Fact]
    public async Task CancelQueued_ThousandAndThree_CancelsThousandThenTheRest()
    {
        await using var world = await TestWorld.Create().WithUnit("held", "command: cat\n").StartAsync();
        var posted = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForAsync(0, 1003, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            // Delayed an hour, each stays queued for the whole test.
            using var post = await world.Client.PostAsync("api/held/?delay=1h", new StringContent("x"), ct);
            Assert.Equal(HttpStatusCode.SeeOther, post.StatusCode);
            posted.Add(post.Headers.GetValues("X-Correlation-Id").Single());
        });

        var first = await world.Client.PostJsonAsync("api/held/cancel?state=queued");
        var second = await world.Client.PostJsonAsync("api/held/cancel?state=queued");
        var third = await world.Client.PostJsonAsync("api/held/cancel?state=queued&limit=5");
        using var failedState = await world.Client.PostAsync("api/held/cancel?state=failed", null);
        using var noState = await world.Client.PostAsync("api/held/cancel", null);
        using var badLimit = await world.Client.PostAsync("api/held/cancel?state=queued&limit=1001", null);
        var some = first.GetProperty("ids")[500].GetString()!;
        var record = await world.GetRecordAsync("held", some);

        Assert.Equal(1000, first.GetProperty("cancelled").GetInt32());
        Assert.Equal(1000, first.GetProperty("ids").GetArrayLength());
        Assert.True(first.GetProperty("more").GetBoolean());
        Assert.Equal(3, second.GetProperty("cancelled").GetInt32());
        Assert.False(second.GetProperty("more").GetBoolean());
        Assert.Equal(0, third.GetProperty("cancelled").GetInt32());
        Assert.False(third.GetProperty("more").GetBoolean());
        var cancelled = first.GetProperty("ids").EnumerateArray().Concat(second.GetProperty("ids").EnumerateArray()).Select(e => e.GetString()!).ToHashSet();
        Assert.True(cancelled.SetEquals(posted));
        Assert.Equal("cancelled", record.GetProperty("outcome").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, failedState.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noState.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
    }

    [Fact]
    public Task CancelQueued_OnPostgreSql_CancelsThousandThenTheRest() =>
        TestWorld.OnPostgreSqlAsync(CancelQueued_ThousandAndThree_CancelsThousandThenTheRest);

    [Fact]
    public async Task Search_IdPrefixAndHeaderValue_FindsThemButNeverCredentialsOrBodies()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("find", "command: cat\nauthorization:\n  header_token:\n    enable: true\n    tokens: [key-of-the-unit]\n")
            .StartAsync();
        var first = await world.PostAsync("find", "needle-in-body", ("X-Order", "Order-42"), ("Authorization", "Bearer sekrit-token"), ("Cookie", "session=crumb"), ("X-Api-Token", "key-of-the-unit"));
        var other = await world.PostAsync("find", "x", ("X-Order", "order-7"), ("X-Api-Token", "key-of-the-unit"));
        var last = await world.PostAsync("find", "x", ("X-Order", "  ORDER-42 "), ("X-Api-Token", "key-of-the-unit"));
        world.Client.DefaultRequestHeaders.Add("X-Api-Token", "key-of-the-unit");

        var byValue = await SearchAsync(world, "find", "order-42");
        var firstPage = await world.Client.GetJsonAsync("api/find/?q=Order-42&limit=1");
        var secondPage = await world.Client.GetJsonAsync("api/find/?q=Order-42&limit=1&before=" + firstPage.GetProperty("next").GetString());
        var byPrefix = await SearchAsync(world, "find", first[..20]);
        var byWholeId = await SearchAsync(world, "find", other);
        var byValuePrefix = await SearchAsync(world, "find", "order-");
        var byAuthorization = await SearchAsync(world, "find", "Bearer sekrit-token");
        var byCookie = await SearchAsync(world, "find", "session=crumb");
        var byToken = await SearchAsync(world, "find", "key-of-the-unit");
        var byBody = await SearchAsync(world, "find", "needle-in-body");
        using var empty = await world.Client.GetAsync("api/find/?q=");
        using var withState = await world.Client.GetAsync("api/find/?q=order-42&state=queued");

        Assert.Equal([last, first], byValue);
        Assert.Equal([last], firstPage.GetProperty("requests").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        Assert.Equal([first], secondPage.GetProperty("requests").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        Assert.Equal(JsonValueKind.Null, secondPage.GetProperty("next").ValueKind);
        Assert.Equal([first], byPrefix);
        Assert.Equal([other], byWholeId);
        Assert.Empty(byValuePrefix);
        Assert.Empty(byAuthorization);
        Assert.Empty(byCookie);
        Assert.Empty(byToken);
        Assert.Empty(byBody);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, withState.StatusCode);
    }

    [Fact]
    public Task Search_OnPostgreSql_FindsThemButNeverCredentialsOrBodies() =>
        TestWorld.OnPostgreSqlAsync(Search_IdPrefixAndHeaderValue_FindsThemButNeverCredentialsOrBodies);

    private static async Task<List<string>> SearchAsync(TestWorld world, string unit, string text)
    {
        var page = await world.Client.GetJsonAsync($"api/{unit}/?q=" + Uri.EscapeDataString(text));
        return page.GetProperty("requests").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToList();
    }
}
