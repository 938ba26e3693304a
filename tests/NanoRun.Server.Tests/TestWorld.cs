using NanoRun.Configuration;
using NanoRun.Server.Tests.OpenApi;
using NanoRun.Server.Tests.Process;
using NanoRun.Storage.PostgreSql;
using NanoRun.Units;

using Microsoft.AspNetCore.Builder;

namespace NanoRun.Server.Tests;

/// <summary>One test's isolated world: a temp folder with <c>server.yaml</c>, <c>conf.d</c> and <c>data</c>, and a server on a loopback port.</summary>
internal sealed class TestWorld : IAsyncDisposable
{
    // Set by OnPostgreSqlAsync: worlds created inside start on a fresh PostgreSQL database instead of the embedded store.
    private static readonly AsyncLocal<bool> PostgreSqlSwitch = new();

    private WebApplication? _app;
    private ServerProcess? _process;
    private bool _wantsOwnDatabase;
    private TestDatabase? _ownDatabase;

    private TestWorld(string root)
    {
        Root = root;
        Directory.CreateDirectory(ConfigDirectory);
    }

    public string Root { get; }

    public string ConfigDirectory => Path.Combine(Root, "conf.d");

    public string DataDirectory => Path.Combine(Root, "data");

    public string ServerYaml => Path.Combine(Root, "server.yaml");

    public HttpClient Client { get; private set; } = new();

    /// <summary>The running server's services.</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the server is not started");

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public static TestWorld Create(string serverYaml = "")
    {
        var root = Path.Combine(Path.GetTempPath(), "nano-run-test-" + Guid.NewGuid().ToString("N"));
        var world = new TestWorld(root);
        File.WriteAllText(world.ServerYaml, "bind: 127.0.0.1:0\nworking_directory: data\nconfig_directory: conf.d\ngraceful_shutdown: 2s\n" + serverYaml);
        world._wantsOwnDatabase = PostgreSqlSwitch.Value;
        return world;
    }

    /// <summary>Runs <paramref name="test"/> with every world it creates on its own fresh PostgreSQL database.</summary>
    public static async Task OnPostgreSqlAsync(Func<Task> test)
    {
        PostgreSqlSwitch.Value = true;
        await test();
    }

    /// <summary>Points this world's server at a PostgreSQL database (shared with other worlds for multi-node tests).</summary>
    /// <param name="connectionString">The database.</param>
    /// <param name="lease">Optional lease duration in Go syntax, such as <c>2s</c>.</param>
    public TestWorld WithPostgreSql(string connectionString, string? lease = null)
    {
        _wantsOwnDatabase = false;
        var storage = $"storage:\n  provider: postgresql\n  connection_string: '{connectionString}'\n";
        if (lease is not null)
        {
            storage += $"  lease: {lease}\n";
        }

        File.AppendAllText(ServerYaml, storage);
        return this;
    }

    /// <summary>Writes a unit file; <paramref name="name"/> may contain folders.</summary>
    public TestWorld WithUnit(string name, string yaml)
    {
        var path = Path.Combine(ConfigDirectory, name + ".yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        return this;
    }

    /// <summary>Starts the server in this process on a free loopback port, loading everything from disk as <c>nano-run server run</c> does.</summary>
    public async Task<TestWorld> StartAsync()
    {
        if (_wantsOwnDatabase && _ownDatabase is null)
        {
            _ownDatabase = await TestDatabase.CreateAsync();
            WithPostgreSql(_ownDatabase.ConnectionString);
        }

        var options = ServerConfigLoader.LoadFile(ServerYaml);
        var units = UnitLoader.LoadDirectory(options.ConfigDirectory);
        _app = NanoRunHost.Build(options, units, reloadUnits: true);
        await _app.StartAsync();
        var address = NanoRunHost.Addresses(_app).First();
        BaseAddress = new Uri(address + "/");
        // Every answer of the API that a test sees is held to the OpenAPI document the server serves.
        Client = ApiContractHandler.Client(BaseAddress);
        return this;
    }

    /// <summary>
    /// Starts the server as a child process (<c>nano-run server run -c server.yaml</c>) with <paramref name="environment"/>
    /// added to the environment it inherits, and points <see cref="Client"/> at it; disposing the world ends the process.
    /// </summary>
    public async Task<ServerProcess> StartProcessAsync(IReadOnlyDictionary<string, string>? environment = null)
    {
        _process = ServerProcess.StartWithEnvironment(Root, environment ?? new Dictionary<string, string>(), "server", "run", "-c", ServerYaml);
        BaseAddress = await _process.WaitListeningAsync();
        Client = ApiContractHandler.Client(BaseAddress);
        return _process;
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Posts a body to the unit and returns the new id.</summary>
    public Task<string> PostAsync(string unit, string body, params (string Name, string Value)[] headers) => Client.PostRequestAsync(unit, body, headers);

    /// <summary>Polls the record until it is complete, for at most <paramref name="timeout"/> (default 30 s).</summary>
    public Task<System.Text.Json.JsonElement> WaitCompleteAsync(string unit, string id, TimeSpan? timeout = null) =>
        Client.WaitCompleteAsync(unit, id, timeout ?? TimeSpan.FromSeconds(30));

    public Task<System.Text.Json.JsonElement> GetRecordAsync(string unit, string id) => Client.GetRecordAsync(unit, id);

    public async Task<string> GetResultAsync(string unit, string id, string attemptId)
    {
        using var response = await Client.GetAsync($"api/{unit}/{id}/attempt/{attemptId}");
        return await response.Content.ReadAsStringAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        Client.Dispose();
        if (_ownDatabase is not null)
        {
            await _ownDatabase.DisposeAsync();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
