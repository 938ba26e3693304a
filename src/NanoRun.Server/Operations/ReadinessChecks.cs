using Microsoft.Extensions.Diagnostics.HealthChecks;
using NanoRun.Queue;
using NanoRun.Storage;

namespace NanoRun.Server.Operations;

/// <summary>Ready when the store answers a small count query in time; not ready at once while the store circuit is open.</summary>
internal sealed class StoreReadinessCheck(StoreCircuit circuit) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // The circuit keeps its own deadline (as long as the check's time-out) and never hands it to the store, whose
        // driver may be slow to cancel. The check's own token is left out so that it is the circuit's deadline that
        // fires: a missed deadline opens the circuit, and the next probes answer at once.
        return await circuit.IsAvailableAsync(CancellationToken.None).ConfigureAwait(false)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("the store does not answer in time");
    }
}

/// <summary>Ready when the data folder's file system keeps <c>min_free_disk</c> free (always, when the guard is off).</summary>
internal sealed class DiskReadinessCheck(EngineOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (options.MinFreeDisk <= 0 || options.DiskGuardPath is not { } path)
        {
            return Task.FromResult(HealthCheckResult.Healthy());
        }

        try
        {
            var free = new DriveInfo(path).AvailableFreeSpace;
            return Task.FromResult(free >= options.MinFreeDisk
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"the data folder has {free} bytes free, below min_free_disk ({options.MinFreeDisk})"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the data folder's free space cannot be read: " + e.Message));
        }
    }
}
