using System.Net;

namespace NanoRun.Server.Tests.Console;

/// <summary>Each attempt keeps the tail of its stderr, and the runner's words when it fails, served at <c>attempt/{id}/stderr</c>.</summary>
public sealed class StderrTests
{
    [Fact]
    public async Task Stderr_FailingCommand_KeptWithTheAttemptAndServedSandboxedAsText()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("failing", "command: \"echo result; echo 'boom: <b>disk</b> on fire' >&2; exit 3\"\nattempts: 1\n")
            .StartAsync();
        var id = await world.PostAsync("failing", "x");
        var record = await world.WaitCompleteAsync("failing", id);
        var attempt = record.GetProperty("attempts")[0];

        using var response = await world.Client.GetAsync($"api/failing/{id}/attempt/{attempt.GetProperty("id").GetString()}/stderr");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("sandbox", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("boom: <b>disk</b> on fire\n", text);
        Assert.Equal(text.Length, attempt.GetProperty("stderr_length").GetInt64());
        Assert.Equal("result\n", await world.GetResultAsync("failing", id, attempt.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Stderr_LongerThanMaxStderr_KeepsOnlyTheLastBytes()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("chatty", "command: \"printf 0123456789abcdefghij >&2\"\nmax_stderr: 10\n")
            .WithUnit("quiet", "command: \"echo secret >&2\"\nmax_stderr: 0\n")
            .StartAsync();
        var chatty = await world.PostAsync("chatty", "x");
        var quiet = await world.PostAsync("quiet", "x");

        var chattyText = await StderrAsync(world, "chatty", chatty);
        var quietText = await StderrAsync(world, "quiet", quiet);

        Assert.Equal("abcdefghij", chattyText);
        Assert.Equal(string.Empty, quietText);
    }

    [Fact]
    public async Task Stderr_RunnerFailures_RecordedInWords()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("noshell", "command: \"true\"\nshell: /nonexistent/sh\nattempts: 1\n")
            .WithUnit("badcgi", "mode: cgi\ncommand: \"echo not a header line\"\nattempts: 1\n")
            .WithUnit("unreachable", "mode: proxy\ncommand: \"http://127.0.0.1:1/\"\nattempts: 1\n")
            .StartAsync();
        var noShell = await world.PostAsync("noshell", "x");
        var badCgi = await world.PostAsync("badcgi", "x");
        var unreachable = await world.PostAsync("unreachable", "x");

        var noShellText = await StderrAsync(world, "noshell", noShell);
        var badCgiText = await StderrAsync(world, "badcgi", badCgi);
        var unreachableText = await StderrAsync(world, "unreachable", unreachable);

        Assert.Equal("nano-run: could not start the command: no such shell: /nonexistent/sh\n", noShellText);
        Assert.StartsWith("nano-run: malformed CGI response: ", badCgiText);
        Assert.StartsWith("nano-run: the upstream request failed: ", unreachableText);
    }

    [Fact]
    public async Task Stderr_UnknownAttempt_Answers404Problem()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var id = await world.PostAsync("echo", "x");
        await world.WaitCompleteAsync("echo", id);

        using var response = await world.Client.GetAsync($"api/echo/{id}/attempt/{id}/stderr");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    private static async Task<string> StderrAsync(TestWorld world, string unit, string id)
    {
        var record = await world.WaitCompleteAsync(unit, id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();
        using var response = await world.Client.GetAsync($"api/{unit}/{id}/attempt/{attemptId}/stderr");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(text.Length, record.GetProperty("attempts")[0].GetProperty("stderr_length").GetInt64());
        return text;
    }
}
