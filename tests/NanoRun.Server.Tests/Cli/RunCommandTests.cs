namespace NanoRun.Server.Tests.Cli;

public sealed class RunCommandTests
{
    [Fact]
    public void BuildUnit_ConcurrencyOverTheUnitLimit_RefusedNamingTheKey()
    {
        var errors = new List<string>();

        var unit = RunCommand.BuildUnit(["true"], "bin", "3", "5s", "5000", errors);

        Assert.Null(unit);
        var error = Assert.Single(errors);
        Assert.Contains("unit 'main': key 'workers'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildUnit_ValidFlags_GivesAUnitThatPassesValidation()
    {
        var errors = new List<string>();

        var unit = RunCommand.BuildUnit(["http://127.0.0.1:9/"], "proxy", "2", "1s", "0", errors);

        Assert.Empty(errors);
        Assert.Equal("proxy", unit!.Mode);
        unit.Validate();
    }
}
