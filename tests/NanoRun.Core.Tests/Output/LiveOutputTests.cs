using NanoRun.Output;

namespace NanoRun.Core.Tests.Output;

public sealed class LiveOutputTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ReadAsync_CaughtUp_WaitsForNextAppend()
    {
        var output = new LiveOutput("r", "a", 1, DateTimeOffset.UnixEpoch);
        var buffer = new byte[16];

        var pending = output.ReadAsync(0, buffer, CancellationToken.None).AsTask();
        var waitedBeforeAppend = !pending.IsCompleted;
        output.Append("hello"u8);
        var read = await pending.WaitAsync(Patience);

        Assert.True(waitedBeforeAppend);
        Assert.Equal(5, read);
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);
    }

    [Fact]
    public async Task ReadAsync_AfterEnd_ReturnsZero()
    {
        var output = new LiveOutput("r", "a", 1, DateTimeOffset.UnixEpoch);
        output.Append("x"u8);
        output.End();
        var buffer = new byte[4];

        var first = await output.ReadAsync(0, buffer, CancellationToken.None);
        var second = await output.ReadAsync(1, buffer, CancellationToken.None);

        Assert.Equal(1, first);
        Assert.Equal(0, second);
        Assert.True(output.Ended.IsCompleted);
    }

    [Fact]
    public async Task ReadAsync_AcrossWindowWrap_ReturnsBytesInOrder()
    {
        var output = new LiveOutput("r", "a", 1, DateTimeOffset.UnixEpoch);
        var data = new byte[LiveOutput.WindowSize + 1000];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i % 251);
        }

        output.Append(data.AsSpan(0, LiveOutput.WindowSize - 10));
        output.Append(data.AsSpan(LiveOutput.WindowSize - 10));
        var buffer = new byte[100];

        var read = await output.ReadAsync(LiveOutput.WindowSize - 50, buffer, CancellationToken.None);

        Assert.Equal(100, read);
        Assert.Equal(data.AsSpan(LiveOutput.WindowSize - 50, 100).ToArray(), buffer);
    }

    [Fact]
    public async Task ReadAsync_SlowReaderOutsideWindow_IsBehind()
    {
        var output = new LiveOutput("r", "a", 1, DateTimeOffset.UnixEpoch);
        output.Append(new byte[LiveOutput.WindowSize * 3]);
        var buffer = new byte[10];

        var behind = await output.ReadAsync(0, buffer, CancellationToken.None);
        var inside = await output.ReadAsync((LiveOutput.WindowSize * 2) + 1, buffer, CancellationToken.None);

        Assert.Equal(LiveOutput.Behind, behind);
        Assert.Equal(10, inside);
    }

    [Fact]
    public void Finish_RemovesOutputAndEndsIt()
    {
        var outputs = new LiveOutputs();
        var output = outputs.Start("r", "a", 1, DateTimeOffset.UnixEpoch);
        var found = outputs.Find("r");

        outputs.Finish(output);

        Assert.Same(output, found);
        Assert.Null(outputs.Find("r"));
        Assert.True(output.Ended.IsCompleted);
    }
}
