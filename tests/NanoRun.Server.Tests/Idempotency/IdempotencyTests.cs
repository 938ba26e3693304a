using System.Net;

namespace NanoRun.Server.Tests.Idempotency;

public sealed class IdempotencyTests
{
    [Fact]
    public async Task Post_SameKeyTwice_AnswersOriginalIdAndStoresOneRequest()
    {
        await using var world = await TestWorld.Create().WithUnit("orders", "command: cat\n").WithUnit("other", "command: cat\n").StartAsync();

        using var first = await PostAsync(world, "orders", "order-17", "first");
        using var repeat = await PostAsync(world, "orders", "order-17", "second");
        using var otherKey = await PostAsync(world, "orders", "order-18", "third");
        using var otherUnit = await PostAsync(world, "other", "order-17", "fourth");

        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, repeat.StatusCode);
        var id = Id(first);
        Assert.Equal(id, Id(repeat));
        Assert.Equal(first.Headers.Location, repeat.Headers.Location);
        Assert.Equal("true", repeat.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(id, Id(otherKey));
        Assert.NotEqual(id, Id(otherUnit));
        Assert.Equal(2, await world.Client.CountRequestsAsync("orders"));
        var record = await world.WaitCompleteAsync("orders", id);
        Assert.Equal("first", await world.GetResultAsync("orders", id, record.GetProperty("attempts")[0].GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Post_TwentyConcurrentSameKey_AllAnswerOneId()
    {
        await using var world = await TestWorld.Create().WithUnit("orders", "command: cat\n").StartAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => PostAsync(world, "orders", "burst-1", "body " + i))));

        try
        {
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode));
            Assert.Single(responses.Select(Id).Distinct());
            Assert.Equal(19, responses.Count(r => r.Headers.Contains("Idempotent-Replayed")));
            Assert.Equal(1, await world.Client.CountRequestsAsync("orders"));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Put_SameKeyAfterCompletion_WaitsForOriginal()
    {
        await using var world = await TestWorld.Create().WithUnit("orders", "command: cat\n").StartAsync();
        using var first = await PostAsync(world, "orders", "put-1", "first");
        await world.WaitCompleteAsync("orders", Id(first));

        using var request = new HttpRequestMessage(HttpMethod.Put, "api/orders/?wait=30s") { Content = new StringContent("again") };
        request.Headers.Add("Idempotency-Key", "put-1");
        using var put = await world.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.SeeOther, put.StatusCode);
        Assert.Equal(Id(first), Id(put));
        Assert.Equal(1, await world.Client.CountRequestsAsync("orders"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    public async Task Post_MalformedKey_Answers400AndStoresNothing(string key)
    {
        await using var world = await TestWorld.Create().WithUnit("orders", "command: cat\n").StartAsync();

        using var response = await PostAsync(world, "orders", key, "x");
        using var tooLong = await PostAsync(world, "orders", new string('k', 256), "x");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(0, await world.Client.CountRequestsAsync("orders"));
    }

    [Fact]
    public async Task Post_SameKeyFromTwoCallers_StoresOneRequestPerCaller()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("orders", "command: cat\nauthorization:\n  header_token: {enable: true, tokens: [token-of-ann, token-of-ben]}\n")
            .StartAsync();

        using var ann = await PostAsync(world, "orders", "order-17", "from ann", ("X-Api-Token", "token-of-ann"));
        using var ben = await PostAsync(world, "orders", "order-17", "from ben", ("X-Api-Token", "token-of-ben"));
        using var annAgain = await PostAsync(world, "orders", "order-17", "from ann again", ("X-Api-Token", "token-of-ann"));
        using var benAgain = await PostAsync(world, "orders", "order-17", "from ben again", ("X-Api-Token", "token-of-ben"));

        Assert.Equal(HttpStatusCode.SeeOther, ann.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, ben.StatusCode);
        Assert.NotEqual(Id(ann), Id(ben));
        Assert.False(ben.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(Id(ann), Id(annAgain));
        Assert.Equal(Id(ben), Id(benAgain));
        Assert.Equal("true", annAgain.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [Fact]
    public Task Post_SameKeyTwice_OnPostgreSql() =>
        TestWorld.OnPostgreSqlAsync(Post_SameKeyTwice_AnswersOriginalIdAndStoresOneRequest);

    [Fact]
    public Task Post_TwentyConcurrentSameKey_OnPostgreSql() =>
        TestWorld.OnPostgreSqlAsync(Post_TwentyConcurrentSameKey_AllAnswerOneId);

    private static async Task<HttpResponseMessage> PostAsync(TestWorld world, string unit, string key, string body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/{unit}/") { Content = new StringContent(body) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await world.Client.SendAsync(request);
    }

    private static string Id(HttpResponseMessage response) => response.Headers.GetValues("X-Correlation-Id").Single();
}
