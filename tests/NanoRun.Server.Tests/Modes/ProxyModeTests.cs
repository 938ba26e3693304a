using System.Net;
using Microsoft.AspNetCore.Http;

namespace NanoRun.Server.Tests.Modes;

public sealed class ProxyModeTests
{
    [Fact]
    public async Task Proxy_SavedRequest_MethodHeadersBodyAndStatusRoundTrip()
    {
        await using var upstream = await Upstream.StartAsync(static async context =>
        {
            var request = context.Request;
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = context.Response.Headers;
            headers["X-Seen-Method"] = request.Method;
            headers["X-Seen-Path"] = request.Path + request.QueryString;
            headers["X-Seen-Custom"] = request.Headers["X-Custom"];
            headers["X-Seen-Content-Type"] = request.ContentType;
            headers["X-Seen-Proxy-Authorization"] = request.Headers.ContainsKey("Proxy-Authorization") ? "forwarded" : "dropped";
            headers["X-Seen-Attempt"] = request.Headers["X-Attempt"];
            headers["X-Seen-Correlation-Id"] = request.Headers["X-Correlation-Id"];
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            context.Response.ContentType = "text/x-echo";
            await context.Response.WriteAsync("echo:" + body);
        });
        await using var world = await TestWorld.Create()
            .WithUnit("forward", $"mode: proxy\ncommand: {upstream.Address}target?fixed=1\n")
            .StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/forward/?wait=30s&q=2") { Content = new StringContent("payload", null, "text/plain") };
        request.Headers.TryAddWithoutValidation("X-Custom", "custom value");
        request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic c2VjcmV0");

        using var response = await world.Client.SendAsync(request);
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        using var attempt = await world.Client.GetAsync(await LastAttemptAsync(world, "forward", id));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, attempt.StatusCode);
        Assert.Equal("echo:payload", await attempt.Content.ReadAsStringAsync());
        Assert.Equal("text/x-echo", attempt.Content.Headers.ContentType!.MediaType);
        Assert.Equal("PUT", Single(attempt, "X-Seen-Method"));
        Assert.Equal("/target?fixed=1&wait=30s&q=2", Single(attempt, "X-Seen-Path"));
        Assert.Equal("custom value", Single(attempt, "X-Seen-Custom"));
        Assert.Equal("text/plain; charset=utf-8", Single(attempt, "X-Seen-Content-Type"));
        Assert.Equal("dropped", Single(attempt, "X-Seen-Proxy-Authorization"));
        Assert.Equal("1", Single(attempt, "X-Seen-Attempt"));
        Assert.Equal(id, Single(attempt, "X-Seen-Correlation-Id"));
    }

    [Fact]
    public async Task Proxy_Upstream503ThenOk_RetriedUntilSuccess()
    {
        var calls = 0;
        await using var upstream = await Upstream.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) == 1 ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
            return context.Response.WriteAsync("call " + Volatile.Read(ref calls));
        });
        await using var world = await TestWorld.Create()
            .WithUnit("flaky", $"mode: proxy\ncommand: {upstream.Address}\nattempts: 3\ninterval: 10ms\n")
            .StartAsync();

        var id = await world.PostAsync("flaky", "x");
        var record = await world.WaitCompleteAsync("flaky", id);
        var attempts = record.GetProperty("attempts");

        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.Equal(503, attempts[0].GetProperty("code").GetInt32());
        Assert.Equal(200, attempts[1].GetProperty("code").GetInt32());
        Assert.Equal("call 2", await world.GetResultAsync("flaky", id, attempts[1].GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Proxy_DeadUpstream_502AttemptsThenFailed()
    {
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await using var world = await TestWorld.Create()
            .WithUnit("dead", $"mode: proxy\ncommand: http://127.0.0.1:{port}/\nattempts: 2\ninterval: 10ms\n")
            .StartAsync();

        var id = await world.PostAsync("dead", "x");
        var record = await world.WaitCompleteAsync("dead", id);
        var attempts = record.GetProperty("attempts");

        Assert.Equal("failed", record.GetProperty("outcome").GetString());
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.All(attempts.EnumerateArray(), a => Assert.Equal(502, a.GetProperty("code").GetInt32()));
        Assert.StartsWith("proxy: ", attempts[0].GetProperty("headers").GetProperty("X-Nano-Run-Error")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Proxy_UpstreamSlowerThanTimeout_502Attempt()
    {
        using var release = new CancellationTokenSource();
        await using var upstream = await Upstream.StartAsync(async context =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(60), release.Token);
            }
            catch (OperationCanceledException)
            {
            }
        });
        await using var world = await TestWorld.Create()
            .WithUnit("slow", $"mode: proxy\ncommand: {upstream.Address}\nattempts: 1\ntimeout: 300ms\n")
            .StartAsync();

        var id = await world.PostAsync("slow", "x");
        var record = await world.WaitCompleteAsync("slow", id);
        await release.CancelAsync();

        var attempt = record.GetProperty("attempts")[0];
        Assert.Equal(502, attempt.GetProperty("code").GetInt32());
        Assert.StartsWith("proxy: timeout", attempt.GetProperty("headers").GetProperty("X-Nano-Run-Error")[0].GetString(), StringComparison.Ordinal);
    }

    private static string Single(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : response.Content.Headers.GetValues(name).Single();

    private static async Task<string> LastAttemptAsync(TestWorld world, string unit, string id)
    {
        var record = await world.WaitCompleteAsync(unit, id);
        var attempts = record.GetProperty("attempts");
        return $"api/{unit}/{id}/attempt/{attempts[attempts.GetArrayLength() - 1].GetProperty("id").GetString()}";
    }
}
