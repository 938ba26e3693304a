using System.Diagnostics;
using System.Globalization;

namespace NanoRun.Server.Tests.Cli;

/// <summary>The shell client (<c>nano-run call|status|result|retry|cancel</c>) as a real child process against a real server.</summary>
public sealed class ClientCommandTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Call_StdinWithWait_EchoesBodyAndExitsZero()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        var run = await CliRun.RunAsync(world, "hello from a pipe\n", "call", "echo", "--data", "-", "--wait");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("hello from a pipe\n", run.Output);
        Assert.Equal(string.Empty, run.Error);
    }

    [Fact]
    public async Task Call_WithoutWait_PrintsIdThatStatusAndResultFollow()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        var call = await CliRun.RunAsync(world, null, "call", "echo", "--data", "text body", "-H", "X-Note: one");
        var id = call.Output.Trim();
        await world.WaitCompleteAsync("echo", id);
        var status = await CliRun.RunAsync(world, null, "status", "echo", id);
        var result = await CliRun.RunAsync(world, null, "result", "echo", id);

        Assert.Equal(0, call.ExitCode);
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("state: succeeded", status.Output, StringComparison.Ordinal);
        Assert.Contains("attempts: 1", status.Output, StringComparison.Ordinal);
        Assert.Contains("last status: 200", status.Output, StringComparison.Ordinal);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("text body", result.Output);
    }

    [Fact]
    public async Task Call_LargeFileWithOutput_StreamsWithinMemoryBound()
    {
        await using var world = await TestWorld.Create().WithUnit("count", "command: wc -c\nmax_request: 0\n").StartAsync();
        var input = Path.Combine(world.Root, "big.bin");
        var output = Path.Combine(world.Root, "out.txt");
        await using (var file = new FileStream(input, FileMode.Create))
        {
            file.SetLength(200L * 1024 * 1024);
        }

        var run = await CliRun.RunAsync(world, null, "call", "count", "--data", "@" + input, "--wait", "--output", output);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(string.Empty, run.Output);
        Assert.Equal("209715200", (await File.ReadAllTextAsync(output)).Trim());
        Assert.True(run.PeakRssKiB is > 0 and < 150 * 1000, $"peak RSS of the client was {run.PeakRssKiB} KiB");
    }

    [Fact]
    public async Task Call_FailingUnit_ExitsOneWithStatusOnStderr()
    {
        await using var world = await TestWorld.Create().WithUnit("broken", "command: exit 3\nattempts: 1\n").StartAsync();

        var run = await CliRun.RunAsync(world, null, "call", "broken", "--wait=2m");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(string.Empty, run.Output);
        Assert.Matches(@"^nano-run: request [0-9a-f]{32} of unit 'broken' failed: 5\d\d after 1 attempt", run.Error);
    }

    [Fact]
    public async Task Call_WaitShorterThanWork_ExitsTwo()
    {
        await using var world = await TestWorld.Create().WithUnit("slow", "command: sleep 30\nattempts: 1\n").StartAsync();

        var run = await CliRun.RunAsync(world, null, "call", "slow", "--wait=1s");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("is not finished after 1s", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_FinishedRequest_PrintsNewIdWithSameBody()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var first = await world.PostAsync("echo", "again");
        await world.WaitCompleteAsync("echo", first);

        var retry = await CliRun.RunAsync(world, null, "retry", "echo", first);
        var second = retry.Output.Trim();
        await world.WaitCompleteAsync("echo", second);
        var result = await CliRun.RunAsync(world, null, "result", "echo", second);

        Assert.Equal(0, retry.ExitCode);
        Assert.Matches("^[0-9a-f]{32}$", second);
        Assert.NotEqual(first, second);
        Assert.Equal("again", result.Output);
    }

    [Fact]
    public async Task Cancel_RunningRequest_StatusShowsCancelledAndResultFails()
    {
        await using var world = await TestWorld.Create().WithUnit("slow", "command: sleep 60\nattempts: 1\n").StartAsync();
        var id = await world.PostAsync("slow", "x");

        var cancel = await CliRun.RunAsync(world, null, "cancel", "slow", id);
        await world.WaitCompleteAsync("slow", id);
        var status = await CliRun.RunAsync(world, null, "status", "slow", id);
        var result = await CliRun.RunAsync(world, null, "result", "slow", id);

        Assert.Equal(0, cancel.ExitCode);
        Assert.Contains("state: cancelled", status.Output, StringComparison.Ordinal);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cancelled", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_FinishedRequest_SaysAlreadyFinishedAndExitsOne()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var id = await world.PostAsync("echo", "x");
        await world.WaitCompleteAsync("echo", id);

        var cancel = await CliRun.RunAsync(world, null, "cancel", "echo", id);
        var status = await CliRun.RunAsync(world, null, "status", "echo", id);

        Assert.Equal(1, cancel.ExitCode);
        Assert.Contains("already finished", cancel.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("nano-run: cancelled", cancel.Error, StringComparison.Ordinal);
        Assert.Contains("state: succeeded", status.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_WrongToken_PrintsOneClearLineAndExitsOne()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("locked", "command: cat\nauthorization:\n  header_token: {enable: true, tokens: [tok-1]}\n")
            .StartAsync();

        var wrong = await CliRun.RunAsync(world, null, "call", "locked", "--data", "x", "--token", "tok-2");
        var missing = await CliRun.RunAsync(world, null, "call", "locked", "--data", "x");
        var right = await CliRun.RunAsync(world, null, "call", "locked", "--data", "x", "--token", "tok-1", "--wait");

        Assert.Equal(1, wrong.ExitCode);
        Assert.Equal("nano-run: the server refused the token (403) for unit 'locked'\n", wrong.Error);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("nano-run: unit 'locked' needs a token (401); pass --token or set NANO_RUN_TOKEN\n", missing.Error);
        Assert.Equal(0, right.ExitCode);
        Assert.Equal("x", right.Output);
    }

    [Fact]
    public async Task Status_UnknownUnitOrId_PrintsOneLineAndExitsOne()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        var unit = await CliRun.RunAsync(world, null, "status", "nope", new string('0', 32));
        var id = await CliRun.RunAsync(world, null, "status", "echo", new string('0', 32));

        Assert.Equal(1, unit.ExitCode);
        Assert.Equal("nano-run: unit 'nope' or the request does not exist (404)\n", unit.Error);
        Assert.Equal(1, id.ExitCode);
        Assert.DoesNotContain("   at ", id.Error, StringComparison.Ordinal);
    }

    /// <summary>One run of <c>dotnet nano-run.dll ARGS --server BASE</c> with its output, exit code and peak resident memory.</summary>
    private sealed record CliRun(int ExitCode, string Output, string Error, long PeakRssKiB)
    {
        public static async Task<CliRun> RunAsync(TestWorld world, string? stdin, params string[] args)
        {
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = world.Root,
            };
            info.Environment.Remove("NANO_RUN_TOKEN");
            info.Environment.Remove("NANO_RUN_SERVER");
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "nano-run.dll"));
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            info.ArgumentList.Add("--server");
            info.ArgumentList.Add(world.BaseAddress.ToString());

            using var process = System.Diagnostics.Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }

            process.StandardInput.Close();

            using var limit = new CancellationTokenSource(Generous);
            var exited = process.WaitForExitAsync(limit.Token);
            long peak = 0;
            while (!exited.IsCompleted)
            {
                peak = Math.Max(peak, PeakRss(process.Id));
                await Task.WhenAny(exited, Task.Delay(50));
            }

            await exited;
            return new CliRun(process.ExitCode, await output, await error, peak);
        }

        private static long PeakRss(int pid)
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    {
                        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The process has just exited; the last reading stands.
            }

            return 0;
        }
    }
}
