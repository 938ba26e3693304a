using System.Collections.Frozen;

namespace NanoRun.Units;

/// <summary>The units in force, by name.</summary>
internal sealed class UnitCatalog
{
    private FrozenDictionary<string, UnitDefinition> _units;

    public UnitCatalog(IEnumerable<UnitDefinition> units) =>
        _units = units.ToFrozenDictionary(u => u.Name, StringComparer.Ordinal);

    public IReadOnlyCollection<UnitDefinition> All => _units.Values;

    public UnitDefinition? Find(string name) => _units.GetValueOrDefault(name);
}
