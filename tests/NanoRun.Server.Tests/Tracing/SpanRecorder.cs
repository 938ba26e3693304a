using System.Collections.Concurrent;
using System.Diagnostics;

namespace NanoRun.Server.Tests.Tracing;

/// <summary>Listens, in this process, to the engine's spans and keeps those that end; other tests' spans come too, so tests pick theirs by trace id.</summary>
internal sealed class SpanRecorder : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == "NanoRun",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Waits until a span named <paramref name="name"/> of <paramref name="traceId"/> has ended, for at most 30 s.</summary>
    public async Task<Activity> WaitAsync(ActivityTraceId traceId, string name)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            foreach (var span in _stopped)
            {
                if (span.TraceId == traceId && span.OperationName == name)
                {
                    return span;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"no {name} span of trace {traceId} ended in time");
            await Task.Delay(20);
        }
    }

    public void Dispose() => _listener.Dispose();
}
