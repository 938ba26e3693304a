using NanoRun.Runners;

namespace NanoRun.Core.Tests.Runners;

public sealed class CommandEnvironmentTests
{
    [Theory]
    [InlineData("NANO_RUN_STORAGE_CONNECTION_STRING", true)]
    [InlineData("NANO_RUN_TOKEN", true)]
    [InlineData("NANO_RUN_CONFIG", true)]
    [InlineData("PGPASSWORD", true)]
    [InlineData("OTEL_EXPORTER_OTLP_HEADERS", true)]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_HEADERS", true)]
    [InlineData("NANO_RUN_NODE_NAME", false)]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", false)]
    [InlineData("PGPASSFILE", false)]
    [InlineData("CREDENTIALS_DIRECTORY", false)]
    [InlineData("PATH", false)]
    [InlineData("nano_run_token", false)]
    public void IsServerOnly_Name_RemovedOnlyForTheServersSecretsAndSettings(string name, bool removed)
    {
        var result = CommandEnvironment.IsServerOnly(name);

        Assert.Equal(removed, result);
    }

    [Theory]
    [InlineData("NANO_RUN_TOKEN", "secret or setting of the server")]
    [InlineData("NANO_RUN_NODE_NAME", "secret or setting of the server")]
    [InlineData("PGPASSWORD", "secret or setting of the server")]
    [InlineData("LD_PRELOAD", "changes how the shell")]
    public void BlockReason_ServerOrSteeringName_NamesWhyARequestMayNotSetIt(string variable, string reason)
    {
        var result = HeaderVariables.BlockReason(variable);

        Assert.Contains(reason, result, StringComparison.Ordinal);
        Assert.Null(HeaderVariables.BlockReason("X_NANO_RUN_TOKEN"));
    }
}
