using NanoRun.Runners;

namespace NanoRun.Output;

/// <summary>
/// The output of one running attempt as it is produced, for readers that follow it. The runner's copy loop hands each
/// piece here on its way to the blob store; only the newest <see cref="WindowSize"/> bytes are kept, so memory stays
/// bounded whatever the output's size or the readers' speed. A reader that falls behind the window reads the rest
/// from the stored result once the attempt is recorded (byte offsets are the same).
/// </summary>
public sealed class LiveOutput : IByteTap
{
    /// <summary>Bytes kept for readers: 64 KiB, one pipe's worth, allocated on the first write.</summary>
    public const int WindowSize = 64 * 1024;

    /// <summary>What <see cref="ReadAsync"/> returns when the bytes at the offset have left the window.</summary>
    public const int Behind = -1;

    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _window;
    private long _written;
    private bool _isEnded;

    // Replaced on each change that a reader waits for; only allocated when someone waits.
    private TaskCompletionSource? _changed;

    internal LiveOutput(string requestId, string attemptId, int number, DateTimeOffset startedAt)
    {
        RequestId = requestId;
        AttemptId = attemptId;
        Number = number;
        StartedAt = startedAt;
    }

    /// <summary>The request whose attempt this is.</summary>
    public string RequestId { get; }

    /// <summary>The attempt's id, as it appears in the request's record once recorded.</summary>
    public string AttemptId { get; }

    /// <summary>The attempt's number, starting at 1.</summary>
    public int Number { get; }

    /// <summary>When the attempt started.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Completes when the attempt is over and recorded (or abandoned at shutdown); no more bytes follow.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Bytes produced so far.</summary>
    public long Length
    {
        get
        {
            lock (_lock)
            {
                return _written;
            }
        }
    }

    /// <inheritdoc />
    void IByteTap.Append(ReadOnlySpan<byte> data) => Append(data);

    internal void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        TaskCompletionSource? changed;
        lock (_lock)
        {
            _window ??= new byte[WindowSize];
            var kept = data.Length > WindowSize ? data[^WindowSize..] : data;
            var start = (int)((_written + (data.Length - kept.Length)) % WindowSize);
            var first = Math.Min(kept.Length, WindowSize - start);
            kept[..first].CopyTo(_window.AsSpan(start));
            kept[first..].CopyTo(_window);
            _written += data.Length;
            changed = _changed;
            _changed = null;
        }

        changed?.TrySetResult();
    }

    /// <summary>Marks the output complete; readers that are caught up see its end.</summary>
    internal void End()
    {
        TaskCompletionSource? changed;
        lock (_lock)
        {
            _isEnded = true;
            changed = _changed;
            _changed = null;
        }

        changed?.TrySetResult();
        _ended.TrySetResult();
    }

    /// <summary>
    /// Copies bytes from <paramref name="offset"/> into <paramref name="buffer"/>, waiting for new output when caught up:
    /// returns how many were copied, 0 at the end, or <see cref="Behind"/> when they have left the window.
    /// </summary>
    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (offset < _written)
                {
                    if (offset < _written - WindowSize)
                    {
                        return Behind;
                    }

                    var count = (int)Math.Min(buffer.Length, _written - offset);
                    var start = (int)(offset % WindowSize);
                    var first = Math.Min(count, WindowSize - start);
                    _window!.AsSpan(start, first).CopyTo(buffer.Span);
                    _window.AsSpan(0, count - first).CopyTo(buffer.Span[first..]);
                    return count;
                }

                if (_isEnded)
                {
                    return 0;
                }

                _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>The attempts running on this node whose output can be followed, by request id.</summary>
internal sealed class LiveOutputs
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LiveOutput> _running = new(StringComparer.Ordinal);

    /// <summary>Registers the output of an attempt that is starting.</summary>
    public LiveOutput Start(string requestId, string attemptId, int number, DateTimeOffset startedAt)
    {
        var output = new LiveOutput(requestId, attemptId, number, startedAt);
        _running[requestId] = output;
        return output;
    }

    /// <summary>Ends an attempt's output once it is recorded and forgets it.</summary>
    public void Finish(LiveOutput output)
    {
        _running.TryRemove(new KeyValuePair<string, LiveOutput>(output.RequestId, output));
        output.End();
    }

    /// <summary>The running attempt of a request on this node, or <c>null</c>.</summary>
    public LiveOutput? Find(string requestId) => _running.TryGetValue(requestId, out var output) ? output : null;
}
