using NanoRun.Configuration;

namespace NanoRun.Core.Tests.Configuration;

public sealed class StorageConfigTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void Parse_PostgreSqlWithoutConnectionString_ReadsEnvironmentVariable()
    {
        string? Environment(string name) => name == ServerConfigLoader.ConnectionStringVariable ? "Host=db;Password=secret" : null;

        var options = ServerConfigLoader.Parse("storage: {provider: postgresql}", "server.yaml", "/srv", Environment);

        Assert.Equal("postgresql", options.StorageProvider);
        Assert.Equal("Host=db;Password=secret", options.StorageConnectionString);
    }

    [Fact]
    public void Parse_ConnectionStringInFile_WinsOverEnvironmentVariable()
    {
        var options = ServerConfigLoader.Parse("storage: {provider: postgresql, connection_string: 'Host=file'}", "server.yaml", "/srv", _ => "Host=env");

        Assert.Equal("Host=file", options.StorageConnectionString);
    }

    [Fact]
    public void Parse_PostgreSqlWithNeither_NamesKeyAndVariable()
    {
        var act = () => ServerConfigLoader.Parse("storage: {provider: postgres}", "server.yaml", "/srv", NoEnvironment);

        var error = Assert.Throws<ServerConfigException>(act);
        Assert.Equal("storage.connection_string", error.Key);
        Assert.Contains(ServerConfigLoader.ConnectionStringVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NodeNameInEnvironment_NamesNodeUnlessFileDoes()
    {
        string? Environment(string name) => name == ServerConfigLoader.NodeNameVariable ? "node-2" : null;

        var fromEnvironment = ServerConfigLoader.Parse("bind: ':1'", "server.yaml", "/srv", Environment);
        var fromFile = ServerConfigLoader.Parse("node_name: web-1", "server.yaml", "/srv", Environment);
        var unset = ServerConfigLoader.Parse("bind: ':1'", "server.yaml", "/srv", NoEnvironment);

        Assert.Equal("node-2", fromEnvironment.NodeName);
        Assert.Equal("web-1", fromFile.NodeName);
        Assert.Null(unset.NodeName);
    }

    [Fact]
    public void Parse_Lease_IsReadAndDefaultsToThirtySeconds()
    {
        var set = ServerConfigLoader.Parse("storage: {provider: postgresql, connection_string: 'Host=db', lease: 1m30s}", "server.yaml", "/srv", NoEnvironment);
        var unset = ServerConfigLoader.Parse("bind: ':1'", "server.yaml", "/srv", NoEnvironment);

        Assert.Equal(TimeSpan.FromSeconds(90), set.LeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(30), unset.LeaseDuration);
    }

    [Fact]
    public void Parse_ZeroLease_NamesKey()
    {
        var act = () => ServerConfigLoader.Parse("storage: {lease: 0s}", "server.yaml", "/srv", NoEnvironment);

        var error = Assert.Throws<ServerConfigException>(act);
        Assert.Equal("storage.lease", error.Key);
    }
}
