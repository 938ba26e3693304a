using System.Collections.Frozen;

namespace NanoRun.Units;

/// <summary>
/// The units in force, by name, as the host reads them (registered by <c>AddNanoRun</c>): an immutable snapshot replaced
/// as a whole when the unit files are reloaded, so readers never lock and always see one consistent set. Units removed
/// since start-up stay findable through <see cref="FindRemoved"/> and <see cref="FindKnown"/> so their history can still be read.
/// </summary>
public sealed class UnitCatalog
{
    private readonly Lock _replaceLock = new();
    private Snapshot _snapshot;

    internal UnitCatalog(IEnumerable<UnitDefinition> units) =>
        _snapshot = new Snapshot(ByName(units), FrozenDictionary<string, UnitDefinition>.Empty, 0);

    /// <summary>Raised after each replacement, on the thread that replaced; handlers read the catalog again and must not throw.</summary>
    internal event Action? Changed;

    /// <summary>The units in force now.</summary>
    public IReadOnlyCollection<UnitDefinition> All => Volatile.Read(ref _snapshot).Units.Values;

    /// <summary>The last definitions of units removed since start-up and not added again.</summary>
    public IReadOnlyCollection<UnitDefinition> Removed => Volatile.Read(ref _snapshot).Removed.Values;

    /// <summary>Counts replacements, starting at 0.</summary>
    public long Version => Volatile.Read(ref _snapshot).Version;

    /// <summary>The unit in force under <paramref name="name"/>, or <c>null</c>.</summary>
    public UnitDefinition? Find(string name) => Volatile.Read(ref _snapshot).Units.GetValueOrDefault(name);

    /// <summary>The last definition of a unit that was in force earlier and is gone now, or <c>null</c>.</summary>
    public UnitDefinition? FindRemoved(string name) => Volatile.Read(ref _snapshot).Removed.GetValueOrDefault(name);

    /// <summary>
    /// The unit that requests of <paramref name="name"/> belong to: the one in force, else its last definition when it was
    /// removed since start-up, else <c>null</c>. Readers of stored requests use it, so a removed unit's history keeps its rules.
    /// </summary>
    public UnitDefinition? FindKnown(string name)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        return snapshot.Units.GetValueOrDefault(name) ?? snapshot.Removed.GetValueOrDefault(name);
    }

    /// <summary>Puts <paramref name="units"/> in force as a whole and raises <see cref="Changed"/>; a unit object that is kept counts as unchanged.</summary>
    internal void Replace(IReadOnlyCollection<UnitDefinition> units)
    {
        lock (_replaceLock)
        {
            var old = _snapshot;
            var next = ByName(units);
            var removed = new Dictionary<string, UnitDefinition>(StringComparer.Ordinal);
            foreach (var (name, unit) in old.Removed)
            {
                if (!next.ContainsKey(name))
                {
                    removed[name] = unit;
                }
            }

            foreach (var (name, unit) in old.Units)
            {
                if (!next.ContainsKey(name))
                {
                    removed[name] = unit;
                }
            }

            Volatile.Write(ref _snapshot, new Snapshot(next, removed.ToFrozenDictionary(StringComparer.Ordinal), old.Version + 1));
        }

        Changed?.Invoke();
    }

    private static FrozenDictionary<string, UnitDefinition> ByName(IEnumerable<UnitDefinition> units)
    {
        var byName = new Dictionary<string, UnitDefinition>(StringComparer.Ordinal);
        foreach (var unit in units)
        {
            if (!byName.TryAdd(unit.Name, unit))
            {
                throw new InvalidOperationException($"unit name '{unit.Name}' is defined twice ({Origin(byName[unit.Name])} and {Origin(unit)})");
            }
        }

        return byName.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string Origin(UnitDefinition unit) => unit.SourceFile ?? "defined in code";

    private sealed record Snapshot(
        FrozenDictionary<string, UnitDefinition> Units,
        FrozenDictionary<string, UnitDefinition> Removed,
        long Version);
}
