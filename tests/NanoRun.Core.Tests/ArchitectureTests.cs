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
}
