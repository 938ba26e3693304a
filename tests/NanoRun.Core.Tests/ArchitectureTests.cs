using System.Runtime.CompilerServices;
using System.Xml.Linq;
using NanoRun.Units;

namespace NanoRun.Core.Tests;

public sealed class ArchitectureTests
{
    [Fact]
    public void Core_References_NoAspNetCoreAssembly()
    {
        var core = typeof(UnitDefinition).Assembly;

        var references = core.GetReferencedAssemblies().Select(a => a.Name ?? string.Empty).ToList();

        Assert.Contains(references, r => r.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
    }

    [Fact]
    public void Core_PublicRunnerTypes_AreOnlyTheRunnerContract()
    {
        var core = typeof(UnitDefinition).Assembly;

        var publicRunnerTypes = core.GetExportedTypes().Where(t => t.Namespace == "NanoRun.Runners").Select(t => t.Name).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(["AttemptContext", "AttemptResult", "IAttemptRunner"], publicRunnerTypes);
        Assert.DoesNotContain(typeof(UnitDefinition).Assembly.GetTypes(), t => t.Name.EndsWith("Manager", StringComparison.Ordinal) || t.Name.EndsWith("Helper", StringComparison.Ordinal) || t.Name.EndsWith("Util", StringComparison.Ordinal));
    }

    [Fact]
    public void ProductCode_EveryType_StaysUnderSixHundredLinesWithItsPartialFilesTogether()
    {
        // A top-level type runs from its declaration at the start of a line to the first closing brace at the start of
        // a line; the lines of a partial type's files are added together.
        var declaration = new System.Text.RegularExpressions.Regex(@"^(?:public |internal |file )?(?:static |sealed |abstract |readonly )*(?:partial )?(?:class|struct|record|interface) (\w+)");
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(RepositoryFolder.Path("src"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllLines(file);
            for (var i = 0; i < text.Length; i++)
            {
                if (declaration.Match(text[i]) is not { Success: true } match)
                {
                    continue;
                }

                var end = Array.FindIndex(text, i, line => line.StartsWith('}'));
                var key = Path.GetFileName(Path.GetDirectoryName(file)) + "/" + match.Groups[1].Value;
                lines[key] = lines.GetValueOrDefault(key) + (end < 0 ? text.Length : end) - i + 1;
            }
        }

        Assert.Contains(lines, pair => pair.Key.EndsWith("/RequestEndpoints", StringComparison.Ordinal));
        Assert.Empty(lines.Where(pair => pair.Value > 600).Select(pair => pair.Key + ": " + pair.Value + " lines"));
    }

    [Fact]
    public void ProductProjects_InternalsVisibleTo_NameOnlyTestAssemblies()
    {
        var projects = Directory.GetFiles(RepositoryFolder.Path("src"), "*.csproj", SearchOption.AllDirectories);

        var friends = projects
            .SelectMany(project => XDocument.Load(project).Descendants("InternalsVisibleTo")
                .Select(item => Path.GetFileName(project) + " -> " + (string?)item.Attribute("Include")))
            .ToList();

        Assert.Contains(projects, p => p.EndsWith("NanoRun.AspNetCore.csproj", StringComparison.Ordinal));
        Assert.NotEmpty(friends);
        Assert.All(friends, friend => Assert.EndsWith(".Tests", friend, StringComparison.Ordinal));
    }

    [Fact]
    public void Core_InternalsVisibleTo_NamesOnlyTestAssemblies()
    {
        var friends = typeof(UnitDefinition).Assembly.GetCustomAttributes(typeof(InternalsVisibleToAttribute), false)
            .Cast<InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName)
            .ToList();

        Assert.Contains("NanoRun.Core.Tests", friends);
        Assert.All(friends, friend => Assert.EndsWith(".Tests", friend, StringComparison.Ordinal));
    }
}
