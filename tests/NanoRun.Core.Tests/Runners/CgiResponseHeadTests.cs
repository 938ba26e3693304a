using System.Text;
using NanoRun.Runners;

namespace NanoRun.Core.Tests.Runners;

public sealed class CgiResponseHeadTests
{
    [Theory]
    [InlineData("Status: 201 Created\r\nX-A: 1\r\n\r\nbody", 201)]
    [InlineData("Status: 404\nX-A: 1\n\nbody", 404)]
    [InlineData("X-A: 1\n\nbody", 200)]
    [InlineData("X-A: 1\nLocation: /next\n\nbody", 302)]
    [InlineData("Location: /next\nStatus: 303 See Other\n\nbody", 303)]
    public async Task Read_WellFormed_StatusHeadersAndBody(string output, int status)
    {
        var head = await CgiResponseHead.ReadAsync(new MemoryStream(Encoding.ASCII.GetBytes(output)), CancellationToken.None);

        Assert.Null(head.Error);
        Assert.Equal(status, head.Status);
        Assert.DoesNotContain(head.Headers, h => h.Key == "Status");
        Assert.Equal("body", await ReadAllAsync(head.Body!));
    }

    [Fact]
    public async Task Read_BodyArrivesInSmallPieces_KeepsEveryByte()
    {
        var body = new string('x', 200_000);
        var output = new TrickleStream(Encoding.ASCII.GetBytes("Content-Type: text/plain\r\nX-Long: " + new string('v', 3000) + "\r\n\r\n" + body), 7);

        var head = await CgiResponseHead.ReadAsync(output, CancellationToken.None);

        Assert.Null(head.Error);
        Assert.Equal(3000, head.Headers[1].Value.Length);
        Assert.Equal(body, await ReadAllAsync(head.Body!));
    }

    [Fact]
    public async Task Read_HeaderValue_TrimmedOfSpacesAndTabs()
    {
        var head = await CgiResponseHead.ReadAsync(new MemoryStream("X-A: \t spaced \t\n\n"u8.ToArray()), CancellationToken.None);

        Assert.Equal(new KeyValuePair<string, string>("X-A", "spaced"), Assert.Single(head.Headers));
        await head.Body!.DisposeAsync();
    }

    [Fact]
    public async Task Read_HeaderBlockOver64KiB_ErrorWithoutReadingFurther()
    {
        var output = new TrickleStream(Encoding.ASCII.GetBytes("X-A: " + new string('a', 1024 * 1024) + "\n\n"), 4096);

        var head = await CgiResponseHead.ReadAsync(output, CancellationToken.None);

        Assert.Contains("64 KiB", head.Error, StringComparison.Ordinal);
        Assert.Null(head.Body);
        Assert.True(output.Consumed <= CgiResponseHead.MaxBlock);
    }

    private static async Task<string> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync();
        }
    }

    /// <summary>Hands out at most a few bytes per read, like a slow pipe.</summary>
    private sealed class TrickleStream(byte[] data, int piece) : ReadOnlyStream
    {
        public int Consumed { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Take(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Take(buffer.Span));

        private int Take(Span<byte> buffer)
        {
            var n = Math.Min(Math.Min(buffer.Length, piece), data.Length - Consumed);
            data.AsSpan(Consumed, n).CopyTo(buffer);
            Consumed += n;
            return n;
        }
    }
}
