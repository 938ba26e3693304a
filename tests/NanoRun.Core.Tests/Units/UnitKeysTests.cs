using System.Reflection;
using System.Text.RegularExpressions;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Units;

/// <summary>The table of unit keys against the model, the code builder and docs/configuration.md, each both ways.</summary>
public sealed partial class UnitKeysTests
{
    // Identity and origin, not settings a unit file or builder sets.
    private static readonly string[] NotKeys = [nameof(UnitDefinition.Name), nameof(UnitDefinition.SourceFile)];

    [Fact]
    public void UnitKeys_CoverEveryPublicPropertyOfUnitDefinition_AndNoOther()
    {
        var properties = typeof(UnitDefinition).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => p.Name)
            .Except(NotKeys)
            .ToHashSet(StringComparer.Ordinal);

        var tabled = UnitKeys.All.Select(k => k.Property).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(properties.Except(tabled).Order());
        Assert.Empty(tabled.Except(properties).Order());
    }

    [Fact]
    public void UnitBuilder_SetsEveryKeyOfTheTable_AndNoOther()
    {
        var settable = typeof(UnitBuilder).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } || IsMutableCollection(p.PropertyType))
            .ToDictionary(p => p.Name, StringComparer.Ordinal);

        var tabled = UnitKeys.All.Select(k => k.Property).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(tabled.Except(settable.Keys).Order());
        Assert.Empty(settable.Keys.Except(tabled).Order());
        foreach (var name in tabled)
        {
            var model = typeof(UnitDefinition).GetProperty(name)!.PropertyType;
            var builder = settable[name].PropertyType;
            Assert.True(
                model == builder || Nullable.GetUnderlyingType(model) == builder || IsMutableCollection(builder),
                $"UnitBuilder.{name} is {builder.Name}, UnitDefinition.{name} is {model.Name}");
        }
    }

    [Fact]
    public void UnitKeys_AreEachAcceptedByTheLoader()
    {
        foreach (var key in UnitKeys.Names)
        {
            var yaml = key switch
            {
                "burst" => "rate: 2\nburst: 3",
                _ => key + ":",
            };

            var unit = UnitLoader.Parse(yaml, "unit.yaml", "job");

            Assert.Equal("job", unit.Name);
        }
    }

    [Fact]
    public void ConfigurationDocs_DocumentEveryUnitKey_AndNoOther()
    {
        var documented = DocumentedUnitKeys(File.ReadAllText(RepositoryFolder.Path("docs", "configuration.md")));

        Assert.Empty(UnitKeys.Names.Except(documented).Order());
        Assert.Empty(documented.Except(UnitKeys.Names).Order());
    }

    private static bool IsMutableCollection(Type type) =>
        type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(IList<>) || type.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    /// <summary>Keys in the first column of the first table under <c>## Unit files</c>.</summary>
    private static HashSet<string> DocumentedUnitKeys(string markdown)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var inside = false;
        var seenTable = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                inside = line.Trim() == "## Unit files";
                continue;
            }

            if (!inside)
            {
                continue;
            }

            if (line.StartsWith('|'))
            {
                seenTable = true;
                if (RowKey().Match(line) is { Success: true } row)
                {
                    keys.Add(row.Groups[1].Value);
                }
            }
            else if (seenTable)
            {
                break;
            }
        }

        return keys;
    }

    [GeneratedRegex(@"^\| `([a-z_]+)` \|")]
    private static partial Regex RowKey();
}
