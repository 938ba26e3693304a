using System.Collections.Frozen;
using NanoRun.Units;

namespace NanoRun.Runners;

/// <summary>One mode name and how its runner is made, as registered by <c>AddRunner</c>.</summary>
/// <param name="Mode">The mode name, compared without regard to case.</param>
/// <param name="Create">Makes the runner once, when the engine starts.</param>
internal sealed record RunnerRegistration(string Mode, Func<IServiceProvider, IAttemptRunner> Create);

/// <summary>The runners by mode name: the built-in ones and those the host added; a later registration of a name wins.</summary>
internal sealed class AttemptRunnerSelector
{
    private readonly FrozenDictionary<string, IAttemptRunner> _runners;

    public AttemptRunnerSelector(IEnumerable<RunnerRegistration> registrations, IServiceProvider services)
    {
        var runners = new Dictionary<string, IAttemptRunner>(StringComparer.OrdinalIgnoreCase);
        foreach (var registration in registrations)
        {
            runners[registration.Mode] = registration.Create(services)
                ?? throw new InvalidOperationException($"the runner factory of mode '{registration.Mode}' returned null");
        }

        _runners = runners.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        Modes = [.. _runners.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>The registered mode names, sorted.</summary>
    public IReadOnlyList<string> Modes { get; }

    /// <summary>Whether <paramref name="mode"/> has a runner.</summary>
    public bool Has(string mode) => _runners.ContainsKey(mode);

    /// <summary>The runner of <paramref name="mode"/>; units are checked at start and on reload, so a miss is a bug.</summary>
    public IAttemptRunner For(string mode) =>
        _runners.TryGetValue(mode, out var runner) ? runner : throw new InvalidOperationException($"no runner is registered for mode '{mode}'");

    /// <summary>
    /// Throws an exception naming the unit's file (or name), the key <c>mode</c> and its line when no runner serves the
    /// unit's mode.
    /// </summary>
    public void Check(UnitDefinition unit)
    {
        if (!Has(unit.Mode))
        {
            throw unit.KeyError("mode", $"no runner is registered for mode '{unit.Mode}'; registered modes: {string.Join(", ", Modes)}");
        }
    }
}
