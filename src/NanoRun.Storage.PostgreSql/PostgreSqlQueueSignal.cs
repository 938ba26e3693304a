using Microsoft.Extensions.Logging;
using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>The shared store's <see cref="IQueueSignal"/>: one <c>LISTEN</c> connection per store that hands each unit
/// named by a <c>NOTIFY</c> to the subscribers.</summary>
internal sealed partial class PostgreSqlQueueSignal(NpgsqlDataSource dataSource, TimeProvider time, ILogger logger) : IQueueSignal, IAsyncDisposable
{
    private static readonly TimeSpan MaxListenBackoff = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _subscribersLock = new();

    // Copy-on-write so notifications read the list without a lock.
    private Action<string>[] _subscribers = [];
    private Task? _listenLoop;
    private int _ready;
    private int _disposed;

    /// <summary>Marks the schema as present, so listening may start (now, when someone already subscribed).</summary>
    public void MarkReady()
    {
        Volatile.Write(ref _ready, 1);
        lock (_subscribersLock)
        {
            StartListeningIfNeeded();
        }
    }

    /// <inheritdoc />
    public IDisposable Subscribe(Action<string> unitHasWork)
    {
        ArgumentNullException.ThrowIfNull(unitHasWork);
        lock (_subscribersLock)
        {
            _subscribers = [.. _subscribers, unitHasWork];
            StartListeningIfNeeded();
        }

        return new Subscription(this, unitHasWork);
    }

    /// <summary>Stops listening.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_subscribersLock)
        {
            loop = _listenLoop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    /// <summary>Starts the listen loop once the schema exists and someone listens; called under the subscribers lock.</summary>
    private void StartListeningIfNeeded()
    {
        if (_listenLoop is null && _subscribers.Length > 0 && Volatile.Read(ref _ready) != 0 && _disposed == 0)
        {
            var stop = _stop.Token;
            _listenLoop = Task.Run(() => ListenAsync(stop), CancellationToken.None);
        }
    }

    /// <summary>Holds one connection on <c>LISTEN</c> and hands each notification to the subscribers; reconnects with a back-off.</summary>
    private async Task ListenAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var connection = await dataSource.OpenConnectionAsync(stop).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    connection.Notification += OnNotification;
                    using (var listen = Sql.Command(connection, PostgreSqlSchema.Listen))
                    {
                        await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                    }

                    backoff = TimeSpan.Zero;
                    while (true)
                    {
                        await connection.WaitAsync(stop).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Notifications sent meanwhile are lost; the engine's poll still finds that work.
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxListenBackoff.Ticks));
                LogListenFailed(logger, e, backoff);
                try
                {
                    await Task.Delay(backoff, time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        var subscribers = Volatile.Read(ref _subscribers);
        foreach (var subscriber in subscribers)
        {
            try
            {
                subscriber(e.Payload);
            }
            catch (Exception error) when (error is ObjectDisposedException or InvalidOperationException)
            {
                // A subscriber that is shutting down; the others still hear the signal.
            }
        }
    }

    private void Unsubscribe(Action<string> unitHasWork)
    {
        lock (_subscribersLock)
        {
            var index = Array.IndexOf(_subscribers, unitHasWork);
            if (index >= 0)
            {
                _subscribers = [.. _subscribers[..index], .. _subscribers[(index + 1)..]];
            }
        }
    }

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Listening for queued work failed; retrying in {Backoff} (polling covers the gap)")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, TimeSpan backoff);

    private sealed class Subscription(PostgreSqlQueueSignal signal, Action<string> unitHasWork) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                signal.Unsubscribe(unitHasWork);
            }
        }
    }
}
