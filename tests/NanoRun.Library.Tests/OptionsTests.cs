using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NanoRun.AspNetCore;
using NanoRun.Client;
using NanoRun.Queue;
using NanoRun.Retention;
using NanoRun.Storage.Sqlite;

namespace NanoRun.Library.Tests;

public sealed class OptionsTests
{
    [Fact]
    public async Task ConfigureRetention_AfterAddNanoRun_CleanerKeepsConfiguredCount()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun =>
        {
            nanoRun.AddUnit("echo", unit => unit.Handle(static (job, ct) => Task.CompletedTask));
            nanoRun.Services.Configure<RetentionOptions>(retention =>
            {
                retention.MaxCount = 1;
                retention.Interval = TimeSpan.FromMilliseconds(100);
            });
        });
        var first = await world.Client.EnqueueAsync("echo", null);
        await world.Client.WaitAsync("echo", first, LibraryWorld.Patience);
        var second = await world.Client.EnqueueAsync("echo", null);
        await world.Client.WaitAsync("echo", second, LibraryWorld.Patience);

        var removed = await RemovedWithinAsync(world.Client, "echo", first, LibraryWorld.Patience);

        Assert.True(removed, "the older finished request is removed once the newest is the only one kept");
        Assert.Equal("succeeded", (await world.Client.GetAsync("echo", second)).Outcome);
    }

    [Fact]
    public async Task ConfigureEngine_BeforeAddNanoRun_AppliesWithTheDelegate()
    {
        await using var world = await LibraryWorld.StartAsync(
            nanoRun => nanoRun.AddUnit("echo", unit => unit.Handle(static (job, ct) => Task.CompletedTask)),
            services: services => services.Configure<EngineOptions>(engine => engine.LeaseDuration = TimeSpan.FromMinutes(3)));

        var engine = world.Services.GetRequiredService<IOptions<EngineOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(3), engine.LeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(2), engine.GracefulShutdown);
        Assert.Same(engine, world.Services.GetRequiredService<EngineOptions>());
    }

    [Fact]
    public async Task AddNanoRunConfiguration_Section_BindsDurationsCountsAndSizes()
    {
        await using var host = await ConfiguredHost.StartAsync(new Dictionary<string, string?>
        {
            ["NanoRun:Engine:LeaseDuration"] = "00:02:00",
            ["NanoRun:Engine:MinFreeDisk"] = "1048576",
            ["NanoRun:Retention:MaxAge"] = "1.00:00:00",
            ["NanoRun:Retention:MaxCount"] = "5",
            ["NanoRun:Api:WaitTime"] = "00:00:07",
        });

        var engine = host.App.Services.GetRequiredService<EngineOptions>();
        var retention = host.App.Services.GetRequiredService<RetentionOptions>();
        var api = host.App.Services.GetRequiredService<ApiOptions>();

        Assert.Equal(TimeSpan.FromMinutes(2), engine.LeaseDuration);
        Assert.Equal(1048576, engine.MinFreeDisk);
        Assert.Equal(Path.Combine(host.Root, "data"), engine.DiskGuardPath);
        Assert.Equal(TimeSpan.FromDays(1), retention.MaxAge);
        Assert.Equal(5, retention.MaxCount);
        Assert.Equal(TimeSpan.FromMinutes(1), retention.Interval);
        Assert.Equal(TimeSpan.FromSeconds(7), api.WaitTime);
    }

    [Fact]
    public async Task AddNanoRunConfiguration_InvalidValues_StartFailsNamingEachKey()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => ConfiguredHost.StartAsync(new Dictionary<string, string?>
        {
            ["NanoRun:Engine:LeaseDuration"] = "00:00:00",
            ["NanoRun:Retention:BatchSize"] = "0",
        }));

        Assert.Contains("NanoRun:Engine:LeaseDuration must be more than zero", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureRetention_Invalid_StartFailsNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => LibraryWorld.StartAsync(nanoRun =>
            nanoRun.Services.Configure<RetentionOptions>(retention => retention.BatchSize = 0)));

        Assert.Contains("NanoRun:Retention:BatchSize must be 1 or more, not 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddNanoRunConfiguration_UiSection_BindsPageSizeAndLogin()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["NanoRun:Ui:PageSize"] = "40",
            ["NanoRun:Ui:HideProtectedUnits"] = "true",
            ["NanoRun:Ui:Auth:AllowedUsers:0"] = "alice",
            ["NanoRun:Ui:Auth:OAuth2:ClientId"] = "client",
            ["NanoRun:Ui:Auth:OAuth2:ClientSecret"] = "secret",
            ["NanoRun:Ui:Auth:OAuth2:AuthUrl"] = "https://login.example/authorize",
            ["NanoRun:Ui:Auth:OAuth2:TokenUrl"] = "https://login.example/token",
            ["NanoRun:Ui:Auth:OAuth2:ProfileUrl"] = "https://login.example/user",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddNanoRun(configuration.GetSection("NanoRun")).AddUi();
        using var provider = services.BuildServiceProvider();

        var ui = provider.GetRequiredService<IOptions<UiOptions>>().Value;

        Assert.Equal(40, ui.PageSize);
        Assert.True(ui.HideProtectedUnits);
        Assert.Equal(["alice"], ui.Auth?.AllowedUsers);
        Assert.Equal("client", ui.Auth?.OAuth2.ClientId);
        Assert.Equal(new Uri("https://login.example/token"), ui.Auth?.OAuth2.TokenUrl);
    }

    [Fact]
    public void AddNanoRunConfiguration_UiLoginWithoutEndpoints_FailsNamingEachKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["NanoRun:Ui:Auth:OAuth2:ClientId"] = "client",
            ["NanoRun:Ui:Auth:OAuth2:AuthUrl"] = "https://login.example/authorize",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddNanoRun(configuration.GetSection("NanoRun")).AddUi();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<UiOptions>>().Value);

        Assert.Contains("NanoRun:Ui:Auth:OAuth2:ClientSecret must be set", error.Message, StringComparison.Ordinal);
        Assert.Contains("NanoRun:Ui:Auth:OAuth2:TokenUrl must be an absolute http or https URL", error.Message, StringComparison.Ordinal);
        Assert.Contains("NanoRun:Ui:Auth:OAuth2:ProfileUrl must be an absolute http or https URL", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ClientId", error.Message, StringComparison.Ordinal);
    }

    private static async Task<bool> RemovedWithinAsync(NanoRunClient client, string unit, string id, TimeSpan patience)
    {
        using var timeout = new CancellationTokenSource(patience);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (await tick.WaitForNextTickAsync(timeout.Token))
        {
            try
            {
                await client.GetAsync(unit, id, timeout.Token);
            }
            catch (NanoRunException e) when (e.Error == NanoRunError.NotFound)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A host whose options come only from a configuration section, as <c>AddNanoRun(configuration.GetSection("NanoRun"))</c>.</summary>
    private sealed class ConfiguredHost : IAsyncDisposable
    {
        private ConfiguredHost(string root, WebApplication app)
        {
            Root = root;
            App = app;
        }

        public string Root { get; }

        public WebApplication App { get; }

        public static async Task<ConfiguredHost> StartAsync(Dictionary<string, string?> values)
        {
            var root = Path.Combine(Path.GetTempPath(), "nano-run-lib-" + Guid.NewGuid().ToString("N"));
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Configuration.AddInMemoryCollection(values);
            builder.Services.AddNanoRun(builder.Configuration.GetSection("NanoRun")).UseSqlite(Path.Combine(root, "data"));
            var app = builder.Build();
            app.MapNanoRun("/api");
            try
            {
                await app.StartAsync();
            }
            catch
            {
                await app.DisposeAsync();
                if (Directory.Exists(root))
                {
                    Directory.Delete(root, recursive: true);
                }

                throw;
            }

            return new ConfiguredHost(root, app);
        }

        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
            Directory.Delete(Root, recursive: true);
        }
    }
}
