using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NanoRun.Bench;

/// <summary>The load shapes, each bounded in count.</summary>
internal static class Load
{
    /// <summary>Posts <paramref name="count"/> 1-byte bodies over <paramref name="connections"/> keep-alive connections; returns acks/s and p50/p99 ms.</summary>
    /// <remarks>
    /// A minimal HTTP/1.1 client on raw sockets (one prepared request, the answer's head and Content-Length body read back),
    /// so that on a 2-core machine the driver takes as little CPU from the server as a C tool such as <c>ab</c> would;
    /// HttpClient costs several times more per request.
    /// </remarks>
    public static async Task<(double Rate, double P50, double P99)> PostAsync(HttpClient client, string unit, int count, int connections)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, client.BaseAddress!.Port);
        var request = Encoding.ASCII.GetBytes($"POST /api/{unit}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx");
        var latencies = new double[count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endpoint);
            var buffer = new byte[4096];
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                await socket.SendAsync(request);
                var status = await ReadResponseAsync(socket, buffer);
                if (status != 303)
                {
                    throw new InvalidOperationException($"POST answered {status}");
                }

                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        })));
        var rate = count / clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return (rate, latencies[count / 2], latencies[(int)(count * 0.99)]);
    }

    /// <summary>Reads one response (head, then a Content-Length body) from a keep-alive connection; returns its status.</summary>
    private static async Task<int> ReadResponseAsync(Socket socket, byte[] buffer)
    {
        var filled = 0;
        int headEnd;
        while ((headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(filled));
            if (read == 0)
            {
                throw new IOException("connection closed mid-response");
            }

            filled += read;
        }

        var head = Encoding.ASCII.GetString(buffer, 0, headEnd);
        var status = int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture);
        var length = 0;
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line.AsSpan(15).Trim(), CultureInfo.InvariantCulture);
            }
        }

        // Bodies of these answers are small: skip what is left of this one.
        var left = length - (filled - headEnd - 4);
        while (left > 0)
        {
            var read = await socket.ReceiveAsync(buffer);
            if (read == 0)
            {
                throw new IOException("connection closed mid-body");
            }

            left -= read;
        }

        return status;
    }

    /// <summary>Posts <paramref name="count"/> requests and measures until the last one is complete; returns jobs/s.</summary>
    public static async Task<double> EndToEndAsync(BenchServer world, string unit, int count)
    {
        var clock = Stopwatch.StartNew();
        var ids = new string[count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var response = await world.Client.PostAsync($"api/{unit}/", new ByteArrayContent([]));
                ids[i] = response.Headers.GetValues("X-Correlation-Id").First();
            }
        })));
        foreach (var id in ids)
        {
            await WaitCompleteAsync(world.Client, unit, id, TimeSpan.FromMilliseconds(20));
        }

        return count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Synchronous round-trips (<c>PUT</c> waits for the result) over <paramref name="connections"/> loops; returns round-trips/s.</summary>
    public static async Task<double> RoundTripsAsync(HttpClient client, Func<HttpRequestMessage> request, int count, int connections)
    {
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                // PUT answers 303 to ID/completed, which answers 301 to the final attempt: follow both, as a caller would.
                var response = await client.SendAsync(request());
                for (var hops = 0; hops < 3 && (int)response.StatusCode is 301 or 303; hops++)
                {
                    var target = new Uri(response.RequestMessage!.RequestUri!, response.Headers.Location!);
                    response.Dispose();
                    response = await client.GetAsync(target);
                }

                using (response)
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new InvalidOperationException($"round-trip to {response.RequestMessage?.RequestUri} answered {response.StatusCode}");
                    }
                }
            }
        })));
        return count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Posts <paramref name="count"/> bodies of <paramref name="size"/> zero bytes at once and waits for all to complete.</summary>
    public static async Task BigBodiesAsync(BenchServer world, string unit, long size, int count)
    {
        await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            using var content = new StreamContent(new ZeroStream(size));
            using var response = await world.Client.PostAsync($"api/{unit}/", content);
            var id = response.Headers.GetValues("X-Correlation-Id").First();
            await WaitCompleteAsync(world.Client, unit, id, TimeSpan.FromMilliseconds(100));
        }));
    }

    /// <summary>Posts small bodies at a steady <paramref name="perSecond"/> for <paramref name="duration"/>; returns how many were acknowledged.</summary>
    public static async Task<int> SteadyAsync(HttpClient client, string unit, double perSecond, TimeSpan duration)
    {
        var sent = 0;
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (clock.Elapsed < duration && await timer.WaitForNextTickAsync())
        {
            var due = (int)(clock.Elapsed.TotalSeconds * perSecond) - sent;
            for (var i = 0; i < due; i++)
            {
                inFlight.Add(PostOneAsync(client, unit));
            }

            sent += due;
            inFlight.RemoveAll(t => t.IsCompletedSuccessfully);
            if (inFlight.FirstOrDefault(t => t.IsFaulted) is { } failed)
            {
                await failed;
            }
        }

        await Task.WhenAll(inFlight);
        return sent;
    }

    public static async Task WaitCompleteAsync(HttpClient client, string unit, string id, TimeSpan poll)
    {
        while (true)
        {
            using var response = await client.GetAsync($"api/{unit}/{id}");
            if (response.Headers.GetValues("X-Status").First() == "complete")
            {
                return;
            }

            await Task.Delay(poll);
        }
    }

    private static async Task PostOneAsync(HttpClient client, string unit)
    {
        using var response = await client.PostAsync($"api/{unit}/", new ByteArrayContent("x"u8.ToArray()));
        if (response.StatusCode != HttpStatusCode.SeeOther)
        {
            throw new InvalidOperationException($"POST answered {response.StatusCode}");
        }
    }
}

/// <summary>A read-only stream of <c>length</c> zero bytes, so the driver itself uses no memory for the body.</summary>
internal sealed class ZeroStream(long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = (int)Math.Min(count, length - _position);
        Array.Clear(buffer, offset, n);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
