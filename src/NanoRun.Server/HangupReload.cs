using System.Runtime.InteropServices;
using NanoRun.Units;

namespace NanoRun.Server;

/// <summary>Reloads the unit files on SIGHUP, for file systems that report no changes and for scripted deployments.</summary>
internal sealed class HangupReload : IHostedService, IDisposable
{
    private readonly IUnitReloader _reloader;
    private PosixSignalRegistration? _registration;

    public HangupReload(IUnitReloader reloader)
    {
        _reloader = reloader;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsWindows())
        {
            _registration ??= PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangup);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _registration?.Dispose();
        _registration = null;
    }

    private void OnHangup(PosixSignalContext context)
    {
        // SIGHUP would end the process by default; here it only asks for a reload.
        context.Cancel = true;
        _reloader.RequestReload();
    }
}
