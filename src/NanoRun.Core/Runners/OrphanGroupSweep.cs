using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NanoRun.Runners;

/// <summary>At start, kills the attempt process groups that a server which died without shutting down left running.</summary>
internal sealed class OrphanGroupSweep(ProcessGroupLedger ledger) : IHostedService
{
    /// <summary>Records attempts' groups under <paramref name="folder"/> and sweeps it at start; call after the engine is added,
    /// so that the sweep runs once the engine holds its data folder.</summary>
    public static void Add(IServiceCollection services, string folder)
    {
        services.AddSingleton(sp => new ProcessGroupLedger(folder, sp.GetRequiredService<ILogger<ProcessGroupLedger>>()));
        services.AddHostedService(static sp => new OrphanGroupSweep(sp.GetRequiredService<ProcessGroupLedger>()));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ledger.SweepOrphans();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
