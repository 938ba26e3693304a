using Microsoft.AspNetCore.Builder;
using NanoRun.Configuration;
using NanoRun.Server;
using NanoRun.Units;

namespace NanoRun.Ui.Tests;

/// <summary>One test's isolated world: a temp folder with <c>server.yaml</c>, <c>conf.d</c> and <c>data</c>, and the server on a loopback port.</summary>
internal sealed class UiWorld : IAsyncDisposable
{
    private WebApplication? _app;

    private UiWorld(string root)
    {
        Root = root;
        Directory.CreateDirectory(ConfigDirectory);
    }

    public string Root { get; }

    public string ConfigDirectory => Path.Combine(Root, "conf.d");

    public string ServerYaml => Path.Combine(Root, "server.yaml");

    /// <summary>A client that follows no redirects and keeps no cookies.</summary>
    public HttpClient Client { get; private set; } = new();

    /// <summary>The server's address, such as <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public static UiWorld Create(string serverYaml = "")
    {
        var root = Path.Combine(Path.GetTempPath(), "nano-run-ui-test-" + Guid.NewGuid().ToString("N"));
        var world = new UiWorld(root);
        File.WriteAllText(world.ServerYaml, "bind: 127.0.0.1:0\nworking_directory: data\nconfig_directory: conf.d\ngraceful_shutdown: 2s\n" + serverYaml);
        return world;
    }

    public UiWorld WithUnit(string name, string yaml)
    {
        File.WriteAllText(Path.Combine(ConfigDirectory, name + ".yaml"), yaml);
        return this;
    }

    /// <summary>Writes a file under the UI folder's <c>static/</c> overrides.</summary>
    public UiWorld WithStaticFile(string name, string content)
    {
        var folder = Path.Combine(Root, "ui", "static");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, name), content);
        return this;
    }

    /// <summary>Starts the server in this process, loading everything from disk as <c>nano-run server run</c> does.</summary>
    public async Task<UiWorld> StartAsync()
    {
        var options = ServerConfigLoader.LoadFile(ServerYaml);
        _app = NanoRunHost.Build(options, UnitLoader.LoadDirectory(options.ConfigDirectory));
        await _app.StartAsync();
        BaseAddress = new Uri(NanoRunHost.Addresses(_app).First() + "/");
        Client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        return this;
    }

    public Uri Url(string relative) => new(BaseAddress, relative);

    /// <summary>Posts a body to the unit's API and returns the new id.</summary>
    public Task<string> PostAsync(string unit, string body, params (string Name, string Value)[] headers) => Client.PostRequestAsync(unit, body, headers);

    /// <summary>Polls the API record until it is complete, for at most <paramref name="timeout"/> (default 60 s).</summary>
    public Task<System.Text.Json.JsonElement> WaitCompleteAsync(string unit, string id, TimeSpan? timeout = null) =>
        Client.WaitCompleteAsync(unit, id, timeout ?? TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }

        Client.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
