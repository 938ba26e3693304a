using Microsoft.Extensions.Logging.Abstractions;
using NanoRun.Queue;
using NanoRun.Storage;
using NanoRun.Storage.Sqlite;

namespace NanoRun.Core.Tests.Queue;

/// <summary>
/// The store circuit over a real embedded store: open, it refuses at once as "unavailable" without asking the store; its
/// probe closes it once the store answers; stopping it (twice, or before it ever opened) ends the probe.
/// </summary>
public sealed class StoreCircuitTests
{
    [Fact]
    public async Task Open_StoreAnswers_ProbeClosesItAndCallsGoThroughAgain()
    {
        await using var world = await CircuitWorld.StartAsync();

        world.Circuit.Open(new TimeoutException("a call missed its deadline"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (world.Circuit.IsOpen && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.False(world.Circuit.IsOpen);
        Assert.True(await world.Circuit.IsAvailableAsync());
    }

    [Fact]
    public async Task Open_AfterStop_RefusesAtOnceAsUnavailableWithoutProbing()
    {
        await using var world = await CircuitWorld.StartAsync();
        world.Circuit.Dispose();
        world.Circuit.Dispose();

        world.Circuit.Open(new TimeoutException("a call missed its deadline"));
        var refused = Record.Exception(world.Circuit.ThrowIfOpen);
        var available = await world.Circuit.IsAvailableAsync();

        Assert.True(world.Circuit.IsOpen);
        Assert.IsType<TimeoutException>(refused);
        Assert.True(StoreFaults.IsUnavailable(refused));
        Assert.False(available);
    }

    [Fact]
    public async Task Dispose_WhileProbingAndAgain_Ends()
    {
        await using var world = await CircuitWorld.StartAsync();
        Assert.True(await world.Circuit.IsAvailableAsync());

        world.Circuit.Open(new TimeoutException("a call missed its deadline"));
        world.Circuit.Dispose();
        world.Circuit.Dispose();
        world.Circuit.Open(new TimeoutException("a call missed its deadline"));

        Assert.True(world.Circuit.IsOpen);
    }

    private sealed class CircuitWorld : IAsyncDisposable
    {
        private readonly string _folder;
        private readonly SqliteRequestStore _store;

        private CircuitWorld()
        {
            _folder = Directory.CreateTempSubdirectory("nano-run-circuit-").FullName;
            _store = new SqliteRequestStore(Path.Join(_folder, "data"), TimeProvider.System);
            Circuit = new StoreCircuit(_store, new EngineOptions(), TimeProvider.System, NullLogger<StoreCircuit>.Instance);
        }

        public StoreCircuit Circuit { get; }

        public static async Task<CircuitWorld> StartAsync()
        {
            var world = new CircuitWorld();
            await world._store.InitializeAsync();
            return world;
        }

        public async ValueTask DisposeAsync()
        {
            Circuit.Dispose();
            await _store.DisposeAsync();
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
