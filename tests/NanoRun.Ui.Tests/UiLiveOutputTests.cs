using System.Text;

namespace NanoRun.Ui.Tests;

/// <summary>The UI's running-attempt page and its output stream over plain HTTP.</summary>
public sealed class UiLiveOutputTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AttemptPage_RunningAttempt_LinksItsStreamWhichFollowsOutput()
    {
        await using var world = UiWorld.Create();
        var signal = Path.Combine(world.Root, "go-on");
        await world
            .WithUnit("live", $"command: 'echo first; while [ ! -e \"$SIGNAL\" ]; do sleep 0.05; done; echo second'\nenvironment: {{SIGNAL: '{signal}'}}\n")
            .StartAsync();
        var id = await world.PostAsync("live", "");
        var attemptId = await world.Client.WaitRunningAttemptAsync("live", id, Patience);
        using var timeout = new CancellationTokenSource(Patience);

        var requestPage = await world.Client.GetStringAsync($"ui/units/live/requests/{id}", timeout.Token);
        var attemptPage = await world.Client.GetStringAsync($"ui/units/live/requests/{id}/attempts/{attemptId}", timeout.Token);
        using var response = await world.Client.GetAsync($"ui/units/live/requests/{id}/attempts/{attemptId}/stream", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        var first = await ReadLineAsync(stream, timeout.Token);
        await File.WriteAllTextAsync(signal, "", timeout.Token);
        using var reader = new StreamReader(stream);
        var rest = await reader.ReadToEndAsync(timeout.Token);

        Assert.Contains($"/ui/units/live/requests/{id}/attempts/{attemptId}\"", requestPage, StringComparison.Ordinal);
        Assert.Contains("id=\"running-attempt\"", requestPage, StringComparison.Ordinal);
        Assert.Contains($"data-stream=\"/ui/units/live/requests/{id}/attempts/{attemptId}/stream\"", attemptPage, StringComparison.Ordinal);
        Assert.Equal("first\n", first);
        Assert.Equal("second\n", rest);
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new byte[1];
        while (!text.ToString().EndsWith('\n'))
        {
            Assert.True(await stream.ReadAsync(buffer, cancellationToken) > 0, "the stream ended after: " + text);
            text.Append((char)buffer[0]);
        }

        return text.ToString();
    }
}
