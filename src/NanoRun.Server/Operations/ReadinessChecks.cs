using Microsoft.Extensions.Diagnostics.HealthChecks;
using NanoRun.Queue;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Server.Operations;

/// <summary>Ready when the store answers a small count query of one unit.</summary>
internal sealed class StoreReadinessCheck(IRequestStore store, UnitCatalog units) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Any unit name works: the query touches the table and its index, and an unknown name counts zero.
        var unit = string.Empty;
        foreach (var first in units.All)
        {
            unit = first.Name;
            break;
        }

        try
        {
            // The probe's time-out holds even when a silent network keeps the store call from giving up.
            await store.CountByStateAsync(unit, cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("the store does not answer: " + e.Message);
        }
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
