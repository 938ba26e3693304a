using System.Diagnostics;

namespace NanoRun.Bench;

/// <summary>Samples a process's RSS and private dirty memory at a fixed period into time series, until disposed.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly List<(double Seconds, double Mb)> _samples = [];
    private readonly List<(double Seconds, double Mb)> _anonymous = [];
    private readonly List<(double Seconds, double Mb)> _privateDirty = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RssSampler(int pid, TimeSpan period)
    {
        var clock = Stopwatch.StartNew();
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(period);
            do
            {
                var kb = Proc.StatusKb(pid, "VmRSS");
                var anonymousKb = Proc.StatusKb(pid, "RssAnon");
                var privateDirtyKb = Proc.SmapsRollupKb(pid, "Private_Dirty");
                if (kb > 0)
                {
                    lock (_samples)
                    {
                        _samples.Add((clock.Elapsed.TotalSeconds, kb / 1024.0));
                        _anonymous.Add((clock.Elapsed.TotalSeconds, anonymousKb / 1024.0));
                        _privateDirty.Add((clock.Elapsed.TotalSeconds, privateDirtyKb / 1024.0));
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        });
    }

    public IReadOnlyList<(double Seconds, double Mb)> Samples
    {
        get
        {
            lock (_samples)
            {
                return [.. _samples];
            }
        }
    }

    /// <summary>The anonymous part of RSS (heaps, stacks), without the mapped binary and libraries.</summary>
    public IReadOnlyList<(double Seconds, double Mb)> Anonymous
    {
        get
        {
            lock (_samples)
            {
                return [.. _anonymous];
            }
        }
    }

    /// <summary>Private dirty memory (<c>Private_Dirty</c> of <c>/proc/PID/smaps_rollup</c>): what the process wrote itself.</summary>
    public IReadOnlyList<(double Seconds, double Mb)> PrivateDirty
    {
        get
        {
            lock (_samples)
            {
                return [.. _privateDirty];
            }
        }
    }

    /// <summary>The highest private dirty memory sampled so far; the kernel keeps a peak only for RSS.</summary>
    public double PeakPrivateDirtyMb
    {
        get
        {
            lock (_samples)
            {
                var peak = 0.0;
                foreach (var (_, mb) in _privateDirty)
                {
                    peak = Math.Max(peak, mb);
                }

                return peak;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
