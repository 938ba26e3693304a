using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Runners;

/// <summary>Picks the runner for a unit's mode.</summary>
internal sealed class AttemptRunnerSelector
{
    private readonly IAttemptRunner _bin;
    private readonly IAttemptRunner _unavailable = new UnavailableModeRunner();

    public AttemptRunnerSelector(BinRunner bin) => _bin = bin;

    public IAttemptRunner For(UnitMode mode) => mode switch
    {
        UnitMode.Bin => _bin,
        _ => _unavailable,
    };

    /// <summary>Answers every attempt with 502 for a mode this build cannot run yet.</summary>
    private sealed class UnavailableModeRunner : IAttemptRunner
    {
        private static readonly KeyValuePair<string, string>[] Headers = [new("X-Nano-Run-Error", "mode not supported by this build")];

        public Task<AttemptResult> RunAsync(AttemptContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new AttemptResult(502, Headers, BodyRef.Empty));
    }
}
