using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.AspNetCore;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Library.Tests;

public sealed class CustomRunnerTests
{
    [Fact]
    public async Task AddRunner_CustomMode_RunsRequestEndToEndOverHttp()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun
            .AddRunner("upper", static _ => new UpperRunner())
            .AddUnit("shout", unit =>
            {
                unit.Mode = "upper";
                unit.Attempts = 1;
            }));

        var id = await world.Client.EnqueueAsync("shout", new MemoryStream("hello"u8.ToArray()), [new("X-Kind", "greeting")]);
        var record = await world.Client.WaitAsync("shout", id, LibraryWorld.Patience);
        await using var result = await world.Client.GetResultAsync("shout", id);
        var body = await new StreamReader(result.Body).ReadToEndAsync();

        Assert.Equal("succeeded", record.Outcome);
        Assert.Equal(201, result.StatusCode);
        Assert.Equal("HELLO", body);
        Assert.Equal("POST /api/shout/ greeting 1", result.Header("X-Seen"));
    }

    [Fact]
    public async Task AddRunner_TypedRunnerReplacingBin_ServesUnitsOfThatMode()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun
            .AddRunner<UpperRunner>("BIN")
            .AddUnits([new UnitDefinition { Name = "plain", Attempts = 1 }]));

        var id = await world.Client.EnqueueAsync("plain", new MemoryStream("quiet"u8.ToArray()));
        await world.Client.WaitAsync("plain", id, LibraryWorld.Patience);
        await using var result = await world.Client.GetResultAsync("plain", id);

        Assert.Equal("QUIET", await new StreamReader(result.Body).ReadToEndAsync());
    }

    [Fact]
    public async Task AddUnit_ModeWithoutRunner_FailsAtStartNamingTheKey()
    {
        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => LibraryWorld.StartAsync(nanoRun => nanoRun
            .AddUnit("lost", unit => unit.Mode = "docker")));

        Assert.Contains("unit 'lost'", error.Message, StringComparison.Ordinal);
        Assert.Contains("key 'mode'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'docker'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnitFile_ModeWithoutRunner_FailsAtStartNamingFileKeyAndLine()
    {
        var folder = Directory.CreateTempSubdirectory("nano-run-units-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "lost.yaml"), "command: cat\nmode: docker\n");

            var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => LibraryWorld.StartAsync(nanoRun => nanoRun
                .AddUnitsFromDirectory(folder)));

            Assert.Contains("lost.yaml: key 'mode'", error.Message, StringComparison.Ordinal);
            Assert.Contains("(line 2, column 7)", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task UnitRegisteredDirectly_InvalidKey_FailsAtStartNamingTheKey()
    {
        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => LibraryWorld.StartAsync(
            _ => { },
            services: services => services.AddSingleton(new UnitDefinition { Name = "busy", Workers = -1 })));

        Assert.Contains("unit 'busy': key 'workers'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddUnit_InvalidKey_FailsAtStartNamingTheKey()
    {
        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => LibraryWorld.StartAsync(nanoRun => nanoRun
            .AddUnit("limited", unit =>
            {
                unit.Rate = new UnitRateLimit { PerSecond = 0, Burst = 1 };
                unit.Handle((job, ct) => Task.CompletedTask);
            })));

        Assert.Contains("unit 'limited': key 'rate'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddRunner_InvalidModeName_Throws()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentException>(() => services.AddNanoRun().AddRunner("two words", static _ => new UpperRunner()));
    }

    /// <summary>Answers 201 with the body in upper case and what it saw of the request in <c>X-Seen</c>.</summary>
    private sealed class UpperRunner : IAttemptRunner
    {
        public async Task<AttemptResult> RunAsync(AttemptContext context, CancellationToken cancellationToken)
        {
            string text;
            await using (var body = await context.OpenBodyAsync(cancellationToken))
            {
                text = await new StreamReader(body).ReadToEndAsync(cancellationToken);
            }

            var kind = context.Headers.FirstOrDefault(h => string.Equals(h.Key, "X-Kind", StringComparison.OrdinalIgnoreCase)).Value;
            BodyRef stored;
            await using (var result = new MemoryStream(Encoding.UTF8.GetBytes(text.ToUpperInvariant())))
            {
                stored = await context.StoreResultAsync(result, cancellationToken);
            }

            return new AttemptResult(201, [new("X-Seen", $"{context.Method} {context.Uri} {kind} {context.AttemptNumber}")], stored);
        }
    }
}
