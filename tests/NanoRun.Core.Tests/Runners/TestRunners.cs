using Microsoft.Extensions.Logging.Abstractions;
using NanoRun.Runners;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Runners;

/// <summary>Runner selectors for engines built by hand in tests.</summary>
internal static class TestRunners
{
    /// <summary>The bin, cgi and proxy runners, registered by name as the engine registers them.</summary>
    public static AttemptRunnerSelector ShellAndProxy() => new(
        [
            new(UnitModes.Bin, static _ => new BinRunner(NullLogger<BinRunner>.Instance, TimeProvider.System)),
            new(UnitModes.Cgi, static _ => new CgiRunner(NullLogger<CgiRunner>.Instance, TimeProvider.System)),
            new(UnitModes.Proxy, static _ => new ProxyRunner(NullLogger<ProxyRunner>.Instance, TimeProvider.System)),
        ],
        NoServices.Instance);

    private sealed class NoServices : IServiceProvider
    {
        public static NoServices Instance { get; } = new();

        public object? GetService(Type serviceType) => null;
    }
}
