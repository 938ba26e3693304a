using NanoRun.Admission;

namespace NanoRun.Control;

/// <summary>
/// Pauses and resumes units and their schedule entries, and runs a schedule entry now, as the API and the UI do.
/// Registered by <c>AddNanoRun</c>; the caller decides who may do this, nothing here checks authorization.
/// </summary>
/// <remarks>
/// A paused unit keeps accepting and storing requests but starts no attempt; attempts running when it is paused finish.
/// A paused schedule entry queues nothing at its ticks. Both are stored (see <see cref="Storage.IPauseStore"/>), so they
/// survive restarts and hold on every node of a shared store. Another node sees a pause within its poll interval
/// (<see cref="Queue.EngineOptions.PollInterval"/>); a resume reaches it at once on a store that signals queued work.
/// </remarks>
public interface IUnitControl
{
    /// <summary>Whether the unit is paused, or <c>null</c> when no unit has that name.</summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<PauseStatus?> GetAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>Pauses the unit and returns its state afterwards, or <c>null</c> when no unit has that name.</summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="cancellationToken">Cancels the call; the pause may have been stored already.</param>
    Task<PauseStatus?> PauseAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>Resumes the unit, which starts its waiting requests at once, and returns its state afterwards, or <c>null</c> when no unit has that name.</summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="cancellationToken">Cancels the call; the resume may have been stored already.</param>
    Task<PauseStatus?> ResumeAsync(string unit, CancellationToken cancellationToken = default);

    /// <summary>Whether a schedule entry is paused, or <c>null</c> when the unit has no such entry.</summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="entry">The entry's label: its <c>name</c>, or its position in the unit's <c>cron</c> list from 0.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<PauseStatus?> GetScheduleAsync(string unit, string entry, CancellationToken cancellationToken = default);

    /// <summary>Pauses a schedule entry: its ticks queue nothing until it is resumed. Returns its state afterwards, or <c>null</c> when the unit has no such entry.</summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="entry">The entry's label: its <c>name</c>, or its position in the unit's <c>cron</c> list from 0.</param>
    /// <param name="cancellationToken">Cancels the call; the pause may have been stored already.</param>
    Task<PauseStatus?> PauseScheduleAsync(string unit, string entry, CancellationToken cancellationToken = default);

    /// <summary>Resumes a schedule entry from its next tick on. Returns its state afterwards, or <c>null</c> when the unit has no such entry.</summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="entry">The entry's label: its <c>name</c>, or its position in the unit's <c>cron</c> list from 0.</param>
    /// <param name="cancellationToken">Cancels the call; the resume may have been stored already.</param>
    Task<PauseStatus?> ResumeScheduleAsync(string unit, string entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues one request of a schedule entry now, exactly as a tick would (paused or not), through admission; returns
    /// the enqueue's answer, or <c>null</c> when the unit has no such entry.
    /// </summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="entry">The entry's label: its <c>name</c>, or its position in the unit's <c>cron</c> list from 0.</param>
    /// <param name="cancellationToken">Cancels the enqueue.</param>
    Task<EnqueueResult?> TriggerScheduleAsync(string unit, string entry, CancellationToken cancellationToken = default);
}

/// <summary>Whether a unit or schedule entry is paused.</summary>
/// <param name="Paused">Whether it is paused.</param>
/// <param name="Since">When the pause began, or <c>null</c> when it is not paused.</param>
public sealed record PauseStatus(bool Paused, DateTimeOffset? Since);
