using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Queue;
using NanoRun.Server.Tests.Process;

namespace NanoRun.Server.Tests.Authorization;

/// <summary>A UI without login must not open units that have their own authorization to the network.</summary>
public sealed class OpenUiTests
{
    private const string GuardedUnit = "command: cat\nauthorization:\n  header_token: {enable: true, tokens: [secret-token]}\n";

    [Fact]
    public async Task ServerRun_OpenUiOnPublicBindWithGuardedUnit_ExitsWith2NamingTheFileAndTheFix()
    {
        await using var world = TestWorld.Create().WithUnit("guarded", GuardedUnit);
        var configFile = Path.Combine(world.Root, "public.yaml");
        await File.WriteAllTextAsync(configFile, "bind: 0.0.0.0:0\nworking_directory: data\nconfig_directory: conf.d\n");

        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", configFile);
        var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("nano-run: " + configFile + ": the UI has no login", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("server.yaml", server.Output, StringComparison.Ordinal);
        Assert.Contains("guarded", server.Output, StringComparison.Ordinal);
        Assert.Contains("add an auth section, set disable_ui: true, or bind to 127.0.0.1", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerRun_OpenUiOnLoopbackWithGuardedUnit_Starts()
    {
        await using var world = TestWorld.Create().WithUnit("guarded", GuardedUnit);
        await File.WriteAllTextAsync(world.ServerYaml, "bind: 127.0.0.1:0\nworking_directory: data\nconfig_directory: conf.d\n");

        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var client = new HttpClient { BaseAddress = await server.WaitListeningAsync() };
        using var page = await client.GetAsync("ui/units/guarded");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task OpenUiOnPublicBind_UnitThatGainsAuthorizationOnReload_IsHiddenFromTheUi()
    {
        await using var world = TestWorld.Create().WithUnit("late", "command: cat\n").WithUnit("open", "command: cat\n");
        await File.WriteAllTextAsync(world.ServerYaml, "bind: 0.0.0.0:0\nworking_directory: data\nconfig_directory: conf.d\n");
        await world.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{world.BaseAddress.Port}/") };
        using var before = await client.GetAsync("ui/units/late");
        var lateId = await client.PostRequestAsync("late", "x", ("X-Order", "shared-7"));
        var openId = await client.PostRequestAsync("open", "x", ("X-Order", "shared-7"));
        var searchBefore = await client.GetStringAsync("ui/search?q=shared-7");

        world.WithUnit("late", GuardedUnit);
        var engine = world.Services.GetRequiredService<NanoRunEngine>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (engine.Units.Find("late") is not { Authorization.IsEnabled: true })
        {
            Assert.True(DateTime.UtcNow < deadline, "the unit was not reloaded");
            await Task.Delay(50);
        }

        using var page = await client.GetAsync("ui/units/late");
        var list = await client.GetStringAsync("ui/");
        using var submit = await client.PostAsync("ui/units/late", new FormUrlEncodedContent([new("body", "x")]));
        using var api = await client.PostAsync("api/late/", new StringContent("x"));
        var search = await client.GetStringAsync("ui/search?q=shared-7");
        using var byId = await client.GetAsync("ui/search?q=" + lateId);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.DoesNotContain("units/late", list, StringComparison.Ordinal);
        Assert.NotEqual(HttpStatusCode.SeeOther, submit.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Contains("/ui/units/late/requests/" + lateId, searchBefore, StringComparison.Ordinal);
        Assert.Contains("/ui/units/open/requests/" + openId, search, StringComparison.Ordinal);
        Assert.DoesNotContain("units/late", search, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, byId.StatusCode);
        Assert.DoesNotContain("units/late", await byId.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
