namespace NanoRun.Runners;

/// <summary>
/// The read side of a process's standard output, handed to the blob store as the result's source.
/// It reports when the output ends and can be cut off, which then reads as the end.
/// </summary>
/// <remarks>
/// A process that left the group (its own <c>setsid</c>) can keep the pipe open after the group is
/// killed; cutting off keeps what was read so far instead of waiting for it forever.
/// </remarks>
internal sealed class ProcessOutputStream : ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly CancellationToken _cutOff;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ProcessOutputStream(Stream inner, CancellationToken cutOff)
    {
        _inner = inner;
        _cutOff = cutOff;
    }

    /// <summary>Completes when the output reaches its end or is cut off.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Whether the output was cut off before its end.</summary>
    public bool WasCutOff { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (WasCutOff)
        {
            return 0;
        }

        // The caller's token is usually not cancellable; link only when it is.
        using var linked = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cutOff)
            : null;
        try
        {
            var read = await _inner.ReadAsync(buffer, linked?.Token ?? _cutOff).ConfigureAwait(false);
            if (read == 0)
            {
                _ended.TrySetResult();
            }

            return read;
        }
        catch (OperationCanceledException) when (_cutOff.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            WasCutOff = true;
            _ended.TrySetResult();
            return 0;
        }
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = _inner.Read(buffer, offset, count);
        if (read == 0)
        {
            _ended.TrySetResult();
        }

        return read;
    }

}
