namespace NanoRun.Storage;

/// <summary>
/// Paused units and paused schedule entries, stored so that a pause survives restarts and holds on every node of a shared
/// store; implemented by every provider beside <see cref="IRequestStore"/>.
/// </summary>
/// <remarks>
/// A store without it keeps pauses in the memory of each node until it stops. A shared store that is also an
/// <see cref="IQueueSignal"/> announces a resumed unit on that signal, so the other nodes claim its requests at once.
/// </remarks>
public interface IPauseStore
{
    /// <summary>
    /// Pauses or resumes a unit or one of its schedule entries. Pausing what is paused already keeps its
    /// <see cref="PausedTarget.Since"/>; resuming what is not paused does nothing.
    /// </summary>
    Task SetPausedAsync(PauseChange change, CancellationToken cancellationToken = default);

    /// <summary>Returns every paused unit and schedule entry, by unit and then by entry (a unit's own pause first).</summary>
    Task<IReadOnlyList<PausedTarget>> ListPausedAsync(CancellationToken cancellationToken = default);
}

/// <summary>Parameters of <see cref="IPauseStore.SetPausedAsync"/>.</summary>
/// <param name="Unit">The unit's name.</param>
/// <param name="Schedule">The schedule entry's label (its name, or its position in the unit's <c>cron</c> list), or <c>null</c> for the unit itself.</param>
/// <param name="Paused"><c>true</c> to pause, <c>false</c> to resume.</param>
/// <param name="At">When the change happens; kept as the start of a new pause.</param>
public sealed record PauseChange(string Unit, string? Schedule, bool Paused, DateTimeOffset At);

/// <summary>One paused unit or schedule entry.</summary>
/// <param name="Unit">The unit's name.</param>
/// <param name="Schedule">The schedule entry's label, or <c>null</c> when the unit itself is paused.</param>
/// <param name="Since">When the pause began.</param>
public sealed record PausedTarget(string Unit, string? Schedule, DateTimeOffset Since);
