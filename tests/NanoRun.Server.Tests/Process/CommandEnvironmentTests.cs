using NanoRun.Storage.PostgreSql;

namespace NanoRun.Server.Tests.Process;

/// <summary>
/// A real server process given secrets through its environment, as systemd, compose and Kubernetes give them: the bin and
/// cgi commands it starts see none of them, but still see <c>PATH</c>, the node's name and what the unit sets itself.
/// </summary>
public sealed class CommandEnvironmentTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Commands_ServerEnvironmentHoldsSecrets_BinAndCgiCommandsSeeNoneOfThem(string store)
    {
        await using var database = store == "postgresql" ? await TestDatabase.CreateAsync() : null;
        var marker = Guid.NewGuid().ToString("N");
        // The test cluster trusts every local connection, so the password is sent nowhere but still reaches the server.
        var connectionString = database is null ? "Host=/nowhere;Password=db-" + marker : $"{database.ConnectionString};Password=db-{marker}";
        var secrets = new Dictionary<string, string>
        {
            ["NANO_RUN_STORAGE_CONNECTION_STRING"] = connectionString,
            ["NANO_RUN_TOKEN"] = "token-" + marker,
            ["PGPASSWORD"] = "pg-" + marker,
            ["OTEL_EXPORTER_OTLP_HEADERS"] = "Authorization=Bearer otlp-" + marker,
            ["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = "Authorization=Bearer traces-" + marker,
        };
        var environment = new Dictionary<string, string>(secrets) { ["NANO_RUN_NODE_NAME"] = "node-" + marker };
        await using var world = TestWorld.Create(database is null ? "" : "storage:\n  provider: postgresql\n")
            .WithUnit("bin", "command: env\n")
            .WithUnit("cgi", "mode: cgi\ncommand: 'printf \"Content-Type: text/plain\\n\\n\"; env'\n")
            .WithUnit("chosen", "command: env\nenvironment:\n  NANO_RUN_TOKEN: chosen-by-the-unit\n");
        await world.StartProcessAsync(environment);

        var bin = await RunAsync(world, "bin");
        var cgi = await RunAsync(world, "cgi");
        var chosen = await RunAsync(world, "chosen");

        foreach (var output in new[] { bin, cgi })
        {
            var names = Names(output);
            foreach (var (name, value) in secrets)
            {
                Assert.DoesNotContain(name, names);
                Assert.DoesNotContain(value, output, StringComparison.Ordinal);
            }

            Assert.Contains("PATH", names);
            Assert.Contains($"NANO_RUN_NODE_NAME=node-{marker}\n", output, StringComparison.Ordinal);
        }

        Assert.Contains("GATEWAY_INTERFACE", Names(cgi));
        Assert.Contains("NANO_RUN_TOKEN=chosen-by-the-unit\n", chosen, StringComparison.Ordinal);
        Assert.DoesNotContain("db-" + marker, chosen, StringComparison.Ordinal);
    }

    /// <summary>Posts to the unit and returns the result of its one attempt.</summary>
    private static async Task<string> RunAsync(TestWorld world, string unit)
    {
        var id = await world.PostAsync(unit, "x");
        var record = await world.WaitCompleteAsync(unit, id);
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        return await world.GetResultAsync(unit, id, record.GetProperty("attempts")[0].GetProperty("id").GetString()!);
    }

    private static HashSet<string> Names(string env) =>
        env.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('=')[0]).ToHashSet(StringComparer.Ordinal);
}
