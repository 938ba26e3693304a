namespace NanoRun.Storage.PostgreSql;

/// <summary>The paused units and schedule entries shared by every node.</summary>
internal sealed partial class PostgreSqlRequestStore : IPauseStore
{
    /// <inheritdoc />
    public Task SetPausedAsync(PauseChange change, CancellationToken cancellationToken = default) => _pauses.SetPausedAsync(change, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<PausedTarget>> ListPausedAsync(CancellationToken cancellationToken = default) => _pauses.ListPausedAsync(cancellationToken);
}
