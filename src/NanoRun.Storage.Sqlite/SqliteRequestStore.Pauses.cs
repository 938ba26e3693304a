namespace NanoRun.Storage.Sqlite;

/// <summary>The paused units and schedule entries of the data folder.</summary>
public sealed partial class SqliteRequestStore : IPauseStore
{
    /// <inheritdoc />
    public Task SetPausedAsync(PauseChange change, CancellationToken cancellationToken = default) => _pauses.SetPausedAsync(change, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<PausedTarget>> ListPausedAsync(CancellationToken cancellationToken = default) => _pauses.ListPausedAsync(cancellationToken);
}
