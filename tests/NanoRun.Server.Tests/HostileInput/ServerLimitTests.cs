using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NanoRun.Server.Tests.HostileInput;

/// <summary>Server-wide limits on what one caller can hold: the wait of a synchronous call and open connections.</summary>
public sealed class ServerLimitTests
{
    [Fact]
    public async Task Put_WaitAboveMaxWait_IsCutToMaxWait()
    {
        await using var world = await TestWorld.Create("max_wait: 1s\n").WithUnit("slow", "command: sleep 20\n").StartAsync();

        var watch = Stopwatch.StartNew();
        using var response = await world.Client.PutAsync("api/slow/?wait=1h", new StringContent("x"));
        watch.Stop();

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"waited {watch.Elapsed}");
        Assert.Single(response.Headers.GetValues("X-Correlation-Id"));
    }

    [Fact]
    public async Task MaxConnections_ConnectionPastTheLimit_IsNotServedUntilOneCloses()
    {
        await using var world = await TestWorld.Create("max_connections: 1\n").WithUnit("echo", "command: cat\n").StartAsync();
        var held = new TcpClient();
        await held.ConnectAsync(world.BaseAddress.Host, world.BaseAddress.Port);
        await held.GetStream().WriteAsync("GET /api/echo/ HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var buffer = new byte[4096];
        var read = await held.GetStream().ReadAsync(buffer);
        Assert.True(read > 0);

        Exception? refused = null;
        try
        {
            using var client = new HttpClient { BaseAddress = world.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            using var second = await client.GetAsync("api/echo/");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            refused = e;
        }

        held.Dispose();
        HttpStatusCode? after = null;
        for (var i = 0; i < 100 && after != HttpStatusCode.OK; i++)
        {
            try
            {
                using var client = new HttpClient { BaseAddress = world.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
                using var response = await client.GetAsync("api/echo/");
                after = response.StatusCode;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(50);
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.OK, after);
    }
}
