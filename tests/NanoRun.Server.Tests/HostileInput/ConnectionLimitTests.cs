using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Storage;

namespace NanoRun.Server.Tests.HostileInput;

/// <summary>Hostile HTTP over real sockets: slow bodies, abandoned uploads, header floods and huge URIs.</summary>
public sealed class ConnectionLimitTests
{
    private const string SlowUnit = "command: cat\nmax_request: 0\n";

    [Fact]
    public async Task Upload_SlowerThanMinimumRate_CutWithNothingQueuedOrLeftOnDisk()
    {
        await using var world = await TestWorld.Create().WithUnit("job", SlowUnit).StartAsync();
        using var socket = await ConnectAsync(world);
        var stream = socket.GetStream();
        await WriteAsync(stream, $"POST /api/job/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
        await stream.WriteAsync(new byte[8192]);

        var closed = await DripUntilClosedAsync(stream, TimeSpan.FromSeconds(40));

        Assert.True(closed, "the server kept a body of 1 byte per second open for 40 s");
        await AssertNothingStoredAsync(world);
    }

    [Fact]
    public async Task Upload_ClientDisconnectsMidBody_NothingQueuedAndPartialFileRemoved()
    {
        await using var world = await TestWorld.Create().WithUnit("job", SlowUnit).StartAsync();
        var socket = await ConnectAsync(world);
        var stream = socket.GetStream();
        await WriteAsync(stream, "POST /api/job/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
        await stream.WriteAsync(new byte[512 * 1024]);
        await WaitForPartialFileAsync(world);

        socket.Client.LingerState = new LingerOption(true, 0);
        socket.Dispose();

        await AssertNothingStoredAsync(world);
    }

    [Fact]
    public async Task Request_LargestLegalHeadersAndLine_AcceptedDespiteSmallReadAhead()
    {
        // Read-ahead per connection is 64 KiB: it must still hold a request line near 8 KiB and headers near 32 KiB.
        await using var world = await TestWorld.Create().WithUnit("job", SlowUnit).StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/job/?q=" + new string('a', 7 * 1024)) { Content = new StringContent("x") };
        for (var i = 0; i < 28; i++)
        {
            request.Headers.TryAddWithoutValidation("X-Large-" + i, new string('v', 1024));
        }

        using var response = await world.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
    }

    [Fact]
    public async Task Request_HeaderFlood_Answered431AndNothingStored()
    {
        await using var world = await TestWorld.Create().WithUnit("job", SlowUnit).StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/job/") { Content = new StringContent("x") };
        for (var i = 0; i < 500; i++)
        {
            request.Headers.TryAddWithoutValidation("X-Flood-" + i, "v");
        }

        using var response = await world.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        await AssertNothingStoredAsync(world);
    }

    [Fact]
    public async Task Request_OneHugeHeader_Answered431()
    {
        await using var world = await TestWorld.Create().WithUnit("job", SlowUnit).StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/job/") { Content = new StringContent("x") };
        request.Headers.TryAddWithoutValidation("X-Big", new string('a', 64 * 1024));

        using var response = await world.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        await AssertNothingStoredAsync(world);
    }

    [Fact]
    public async Task Request_HugeUri_Answered414()
    {
        await using var world = await TestWorld.Create().WithUnit("job", SlowUnit).StartAsync();

        using var response = await world.Client.PostAsync("api/job/?q=" + new string('a', 64 * 1024), new StringContent("x"));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        await AssertNothingStoredAsync(world);
    }

    [Fact]
    public async Task Request_HeadersNeverFinish_ConnectionClosed()
    {
        await using var world = await TestWorld.Create().WithUnit("job", SlowUnit).StartAsync();
        using var socket = await ConnectAsync(world);
        var stream = socket.GetStream();
        await WriteAsync(stream, "POST /api/job/ HTTP/1.1\r\nHost: x\r\n");

        var closed = await DripUntilClosedAsync(stream, TimeSpan.FromSeconds(60), "X-Slow: a\r\n"u8.ToArray());

        Assert.True(closed, "the server waited 60 s for headers that never ended");
        await AssertNothingStoredAsync(world);
    }

    private static async Task<TcpClient> ConnectAsync(TestWorld world)
    {
        var client = new TcpClient();
        await client.ConnectAsync(world.BaseAddress.Host, world.BaseAddress.Port);
        return client;
    }

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    /// <summary>Sends a little every second until the server closes the connection or <paramref name="limit"/> passes; true when it closed.</summary>
    private static async Task<bool> DripUntilClosedAsync(NetworkStream stream, TimeSpan limit, byte[]? drop = null)
    {
        drop ??= [0];
        var deadline = DateTime.UtcNow + limit;
        var buffer = new byte[4096];
        var pendingRead = stream.ReadAsync(buffer).AsTask();
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await stream.WriteAsync(drop);
            }
            catch (IOException)
            {
                return true;
            }

            // A read that ends (0 bytes or an error) means the server gave up on us; a 408 response may come first.
            var done = await Task.WhenAny(pendingRead, Task.Delay(TimeSpan.FromSeconds(1)));
            if (done == pendingRead)
            {
                try
                {
                    if (await pendingRead == 0)
                    {
                        return true;
                    }
                }
                catch (IOException)
                {
                    return true;
                }

                pendingRead = stream.ReadAsync(buffer).AsTask();
            }
        }

        return false;
    }

    private static async Task WaitForPartialFileAsync(TestWorld world)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (BlobFiles(world).Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no partial body file appeared");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits (bounded) until no body file is left and checks that no request was recorded.</summary>
    private static async Task AssertNothingStoredAsync(TestWorld world)
    {
        var store = world.Services.GetRequiredService<IRequestStore>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (BlobFiles(world).Length > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var counts = await store.CountByStateAsync("job");

        Assert.Empty(BlobFiles(world));
        Assert.Equal(0, counts.Waiting + counts.Running + counts.Succeeded + counts.Failed + counts.Cancelled);
    }

    private static string[] BlobFiles(TestWorld world)
    {
        // The blob store removes a partial body's folder with it, so the folder may vanish while it is listed.
        var blobs = Path.Combine(world.DataDirectory, "blobs");
        try
        {
            return Directory.GetFiles(blobs, "*", SearchOption.AllDirectories);
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }
}
