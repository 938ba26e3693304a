using System.Net.Sockets;
using System.Text;

namespace NanoRun.Server.Tests.Api;

/// <summary>One HTTP/1.1 exchange written and read as bytes on a socket, so tests send what HttpClient refuses and see every header line as sent.</summary>
internal sealed record RawHttpResponse(int Status, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
{
    /// <summary>Every value of the header <paramref name="name"/>, in the order sent.</summary>
    public IReadOnlyList<string> Values(string name) =>
        Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();

    /// <summary>The one value of <paramref name="name"/>; fails when the header is missing or repeated.</summary>
    public string Single(string name)
    {
        var values = Values(name);
        Assert.True(values.Count == 1, $"expected one {name} header, got {values.Count}: {this}");
        return values[0];
    }

    public string BodyText => Encoding.UTF8.GetString(Body);

    public override string ToString() => $"{Status}\n{string.Join('\n', Headers.Select(h => h.Name + ": " + h.Value))}\n\n{BodyText}";
}

internal static class RawHttp
{
    /// <summary>Sends <paramref name="head"/> (request line and header lines, without the blank line) and <paramref name="body"/>, then reads the whole answer (at most 10 s).</summary>
    public static async Task<RawHttpResponse> SendAsync(TestWorld world, string head, byte[]? body = null, Encoding? headEncoding = null)
    {
        body ??= [];
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(world.BaseAddress.Host, world.BaseAddress.Port, timeout.Token);
        var stream = client.GetStream();
        var text = head.TrimEnd('\r', '\n').ReplaceLineEndings("\r\n")
            + $"\r\nHost: {world.BaseAddress.Authority}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync((headEncoding ?? Encoding.ASCII).GetBytes(text), timeout.Token);
        await stream.WriteAsync(body, timeout.Token);
        using var answer = new MemoryStream();
        await stream.CopyToAsync(answer, timeout.Token);
        return Parse(answer.ToArray());
    }

    /// <summary>GET <paramref name="path"/> (starting with <c>/</c>).</summary>
    public static Task<RawHttpResponse> GetAsync(TestWorld world, string path) => SendAsync(world, $"GET {path} HTTP/1.1");

    private static RawHttpResponse Parse(byte[] bytes)
    {
        var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end > 0, "no complete answer head: " + Encoding.Latin1.GetString(bytes));
        var lines = Encoding.Latin1.GetString(bytes, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new List<(string, string)>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add((line[..colon], line[(colon + 1)..].Trim()));
        }

        var body = bytes[(end + 4)..];
        if (headers.Any(h => h.Item1.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)))
        {
            body = Unchunk(body);
        }

        return new RawHttpResponse(status, headers, body);
    }

    private static byte[] Unchunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var at = 0;
        while (at < chunked.Length)
        {
            var lineEnd = chunked.AsSpan(at).IndexOf("\r\n"u8);
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, at, lineEnd).Split(';')[0], 16);
            if (size == 0)
            {
                break;
            }

            body.Write(chunked, at + lineEnd + 2, size);
            at += lineEnd + 2 + size + 2;
        }

        return body.ToArray();
    }
}
