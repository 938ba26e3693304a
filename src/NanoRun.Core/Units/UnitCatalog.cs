using System.Collections.Frozen;

namespace NanoRun.Units;

/// <summary>The units in force, by name.</summary>
internal sealed class UnitCatalog
{
    private FrozenDictionary<string, UnitDefinition> _units;

    public UnitCatalog(IEnumerable<UnitDefinition> units)
    {
        var byName = new Dictionary<string, UnitDefinition>(StringComparer.Ordinal);
        foreach (var unit in units)
        {
            if (!byName.TryAdd(unit.Name, unit))
            {
                throw new InvalidOperationException($"unit name '{unit.Name}' is defined twice ({Origin(byName[unit.Name])} and {Origin(unit)})");
            }
        }

        _units = byName.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IReadOnlyCollection<UnitDefinition> All => _units.Values;

    public UnitDefinition? Find(string name) => _units.GetValueOrDefault(name);

    private static string Origin(UnitDefinition unit) => unit.SourceFile ?? "defined in code";
}
