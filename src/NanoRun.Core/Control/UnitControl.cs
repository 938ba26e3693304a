using NanoRun.Admission;
using NanoRun.Queue;
using NanoRun.Scheduling;
using NanoRun.Units;

namespace NanoRun.Control;

/// <summary>The <see cref="IUnitControl"/> of <c>AddNanoRun</c>: stores pauses through the engine's view of them and wakes a resumed unit.</summary>
internal sealed class UnitControl(NanoRunEngine engine, UnitCatalog units, CronScheduler scheduler) : IUnitControl
{
    public async Task<PauseStatus?> GetAsync(string unit, CancellationToken cancellationToken = default) =>
        units.Find(unit) is null ? null : await engine.Pauses.StatusAsync(unit, null, cancellationToken).ConfigureAwait(false);

    public async Task<PauseStatus?> PauseAsync(string unit, CancellationToken cancellationToken = default) =>
        units.Find(unit) is null ? null : await engine.Pauses.SetAsync(unit, null, paused: true, cancellationToken).ConfigureAwait(false);

    public async Task<PauseStatus?> ResumeAsync(string unit, CancellationToken cancellationToken = default)
    {
        if (units.Find(unit) is null)
        {
            return null;
        }

        var status = await engine.Pauses.SetAsync(unit, null, paused: false, cancellationToken).ConfigureAwait(false);

        // This node starts the queue now; other nodes hear the store's signal, or find it at their next poll.
        engine.Wake(unit);
        return status;
    }

    public async Task<PauseStatus?> GetScheduleAsync(string unit, string entry, CancellationToken cancellationToken = default) =>
        scheduler.HasEntry(unit, entry) ? await engine.Pauses.StatusAsync(unit, entry, cancellationToken).ConfigureAwait(false) : null;

    public async Task<PauseStatus?> PauseScheduleAsync(string unit, string entry, CancellationToken cancellationToken = default) =>
        scheduler.HasEntry(unit, entry) ? await engine.Pauses.SetAsync(unit, entry, paused: true, cancellationToken).ConfigureAwait(false) : null;

    public async Task<PauseStatus?> ResumeScheduleAsync(string unit, string entry, CancellationToken cancellationToken = default) =>
        scheduler.HasEntry(unit, entry) ? await engine.Pauses.SetAsync(unit, entry, paused: false, cancellationToken).ConfigureAwait(false) : null;

    public Task<EnqueueResult?> TriggerScheduleAsync(string unit, string entry, CancellationToken cancellationToken = default) =>
        scheduler.TriggerAsync(unit, entry, cancellationToken);
}
