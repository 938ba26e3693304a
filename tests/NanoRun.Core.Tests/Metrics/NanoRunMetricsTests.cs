using System.Diagnostics.Metrics;
using NanoRun.Metrics;
using NanoRun.Requests;

namespace NanoRun.Core.Tests.Metrics;

public sealed class NanoRunMetricsTests
{
    [Theory]
    [InlineData(200, "2xx")]
    [InlineData(303, "3xx")]
    [InlineData(404, "4xx")]
    [InlineData(502, "5xx")]
    [InlineData(0, "5xx")]
    [InlineData(999, "5xx")]
    public void StatusClass_Code_IsConstantLabel(int code, string expected)
    {
        var label = NanoRunMetrics.StatusClass(code);

        Assert.Equal(expected, label);
    }

    [Fact]
    public void Recording_WithListener_AllocatesNothingAndReportsTags()
    {
        using var metrics = new NanoRunMetrics();
        var unit = "unit" + Guid.NewGuid().ToString("N");
        long accepted = 0;
        long attempts = 0;
        string? outcome = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NanoRunMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) =>
        {
            if (!HasUnit(tags, unit))
            {
                return;
            }

            if (instrument.Name == "nanorun.requests.accepted")
            {
                accepted += value;
            }
            else if (instrument.Name == "nanorun.attempts")
            {
                attempts += value;
                foreach (var tag in tags)
                {
                    if (tag.Key == "outcome")
                    {
                        outcome = (string?)tag.Value;
                    }
                }
            }
        });
        listener.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
        listener.Start();
        metrics.Accepted(unit);
        metrics.AttemptFinished(unit, 200, RequestState.Succeeded, TimeSpan.FromMilliseconds(5));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            metrics.Accepted(unit);
            metrics.Refused(unit, RefusalReasons.TooLarge);
            metrics.AttemptFinished(unit, 502, RequestState.Failed, TimeSpan.FromMilliseconds(5));
            metrics.StoreCall(StoreOperations.Enqueue, TimeSpan.FromMilliseconds(1));
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(1001, accepted);
        Assert.Equal(1001, attempts);
        Assert.Equal("failed", outcome);
    }

    private static bool HasUnit(ReadOnlySpan<KeyValuePair<string, object?>> tags, string unit)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "unit" && (string?)tag.Value == unit)
            {
                return true;
            }
        }

        return false;
    }
}
