using NanoRun.Callbacks;

namespace NanoRun.Core.Tests.Callbacks;

public sealed class CallbackDispatcherTests
{
    [Fact]
    public void Backoff_DoublesFromFirstRetryUpToTheCap()
    {
        var options = new CallbackOptions { FirstRetry = TimeSpan.FromSeconds(1), MaxRetry = TimeSpan.FromSeconds(10) };

        var delays = Enumerable.Range(1, 6).Select(attempt => CallbackDispatcher.Backoff(options, attempt)).ToArray();

        Assert.Equal([1, 2, 4, 8, 10, 10], delays.Select(d => d.TotalSeconds));
    }
}
