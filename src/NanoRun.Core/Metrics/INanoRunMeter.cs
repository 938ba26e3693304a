namespace NanoRun.Metrics;

/// <summary>
/// The engine's instruments as a metrics exporter sees them: the meter's name to listen to, and the refresh of the
/// queue gauges that are read from the store. Registered by <c>AddNanoRun</c>.
/// </summary>
public interface INanoRunMeter
{
    /// <summary>The name of the engine's meter, <c>NanoRun</c>; an exporter adds it to be sent the engine's instruments.</summary>
    const string Name = "NanoRun";

    /// <summary>
    /// Reads every unit's queue depth and oldest waiting age from the store, unless the last reading is younger than one
    /// second or nothing listens; call it before a scrape. Running attempts need no refresh.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read; the gauges keep the last reading.</param>
    Task RefreshQueueGaugesAsync(CancellationToken cancellationToken = default);
}
