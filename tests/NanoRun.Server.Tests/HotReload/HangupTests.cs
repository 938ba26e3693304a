using System.Net;
using NanoRun.Server.Tests.Process;

namespace NanoRun.Server.Tests.HotReload;

public sealed class HangupTests
{
    [Fact]
    public async Task Hangup_WatchDisabled_ReloadsUnitsAndKeepsServing()
    {
        await using var world = TestWorld.Create("watch: false\n").WithUnit("first", "command: echo first\n");
        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = await server.WaitListeningAsync() };
        world.WithUnit("second", "command: echo second\n");
        world.WithUnit("first", "attempts: none\n");

        server.Signal("HUP");
        await HotReloadTests.EventuallyAsync(() => Task.FromResult(server.Output.Contains("Units reloaded", StringComparison.Ordinal)), "SIGHUP never reloaded:\n" + server.Output);
        using var added = await client.PostAsync("api/second/", new StringContent("x"));
        using var kept = await client.PostAsync("api/first/", new StringContent("x"));

        Assert.Equal(HttpStatusCode.SeeOther, added.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, kept.StatusCode);
        Assert.Contains("first.yaml: key 'attempts'", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("is not watched", server.Output, StringComparison.Ordinal);
    }
}
