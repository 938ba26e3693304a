using System.Net;
using System.Text;

namespace NanoRun.Server.Tests.LiveOutput;

public sealed class AttemptStreamTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Stream_RunningAttempt_DeliversFirstLineBeforeCommandExits()
    {
        await using var world = TestWorld.Create();
        var signal = Path.Combine(world.Root, "go-on");
        await world
            .WithUnit("live", $"command: 'echo first; while [ ! -e \"$SIGNAL\" ]; do sleep 0.05; done; echo second'\nenvironment: {{SIGNAL: '{signal}'}}\n")
            .StartAsync();
        var id = await world.PostAsync("live", "");
        var attemptId = await world.Client.WaitRunningAttemptAsync("live", id, Patience);
        using var timeout = new CancellationTokenSource(Patience);

        using var response = await world.Client.GetAsync($"api/live/{id}/attempt/{attemptId}/stream", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        var first = await ReadUntilAsync(stream, "first\n", timeout.Token);
        var whileRunning = await world.GetRecordAsync("live", id);
        await File.WriteAllTextAsync(signal, "", timeout.Token);
        var rest = await ReadToEndAsync(stream, timeout.Token);
        var record = await world.WaitCompleteAsync("live", id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("first\n", first);
        Assert.False(whileRunning.GetProperty("complete").GetBoolean());
        Assert.Equal("second\n", rest);
        Assert.Equal(attemptId, record.GetProperty("attempts")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Stream_FinishedAttempt_SendsStoredOutputAndEnds()
    {
        await using var world = await TestWorld.Create().WithUnit("done", "command: 'seq 1 20000'\n").StartAsync();
        var id = await world.PostAsync("done", "");
        var record = await world.WaitCompleteAsync("done", id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();

        using var response = await world.Client.GetAsync($"api/done/{id}/attempt/{attemptId}/stream");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(await world.GetResultAsync("done", id, attemptId!), text);
        Assert.EndsWith("\n20000\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_UnknownAttempt_Answers404()
    {
        await using var world = await TestWorld.Create().WithUnit("done", "command: 'echo hi'\n").StartAsync();
        var id = await world.PostAsync("done", "");
        await world.WaitCompleteAsync("done", id);

        using var response = await world.Client.GetAsync($"api/done/{id}/attempt/{new string('0', 32)}/stream");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Stream_OutputLargerThanWindow_ArrivesWhole()
    {
        await using var world = TestWorld.Create();
        var signal = Path.Combine(world.Root, "go-on");
        await world
            .WithUnit("big", $"command: 'echo start; while [ ! -e \"$SIGNAL\" ]; do sleep 0.05; done; seq 1 200000'\nenvironment: {{SIGNAL: '{signal}'}}\n")
            .StartAsync();
        var id = await world.PostAsync("big", "");
        var attemptId = await world.Client.WaitRunningAttemptAsync("big", id, Patience);
        using var timeout = new CancellationTokenSource(Patience);

        using var response = await world.Client.GetAsync($"api/big/{id}/attempt/{attemptId}/stream", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        var start = await ReadUntilAsync(stream, "start\n", timeout.Token);
        await File.WriteAllTextAsync(signal, "", timeout.Token);
        var rest = await ReadToEndAsync(stream, timeout.Token);
        await world.WaitCompleteAsync("big", id);

        Assert.Equal("start\n", start);
        Assert.Equal(await world.GetResultAsync("big", id, attemptId), start + rest);
    }

    private static async Task<string> ReadUntilAsync(Stream stream, string expected, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new byte[1];
        while (text.Length < expected.Length)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            Assert.True(read > 0, "the stream ended after: " + text);
            text.Append((char)buffer[0]);
        }

        return text.ToString();
    }

    private static async Task<string> ReadToEndAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(cancellationToken);
    }
}
