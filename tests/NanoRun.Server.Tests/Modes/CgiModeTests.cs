using System.Net;
using NanoRun.Server.Tests.Process;

namespace NanoRun.Server.Tests.Modes;

public sealed class CgiModeTests
{
    [Fact]
    public async Task Cgi_ShellScriptReadsBodyAndQuery_201WithCustomHeaderThroughTheApi()
    {
        await using var world = TestWorld.Create();
        var script = Path.Combine(world.Root, "greet.cgi");
        await File.WriteAllTextAsync(script, """
            #!/bin/sh
            body=$(cat)
            printf 'Status: 201 Created\r\n'
            printf 'Content-Type: text/plain\r\n'
            printf 'X-Greeting: hello %s\r\n' "$QUERY_STRING"
            printf '\r\n'
            printf '%s|%s|%s|%s' "$REQUEST_METHOD" "$body" "$REMOTE_ADDR" "$HTTP_X_NAME"
            """.ReplaceLineEndings("\n"));
        await world.WithUnit("greet", $"mode: cgi\ncommand: /bin/sh {script}\n").StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/greet/?name=world") { Content = new StringContent("payload") };
        request.Headers.Add("X-Name", "Ada");

        using var response = await world.Client.SendAsync(request);
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        var record = await world.WaitCompleteAsync("greet", id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString();
        using var attempt = await world.Client.GetAsync($"api/greet/{id}/attempt/{attemptId}");
        using var saved = await world.Client.GetAsync($"api/greet/{id}/request");

        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.Equal(HttpStatusCode.Created, attempt.StatusCode);
        Assert.Equal("hello name=world", attempt.Headers.GetValues("X-Greeting").Single());
        Assert.Equal("text/plain", attempt.Content.Headers.ContentType!.MediaType);
        Assert.Equal("POST|payload|127.0.0.1|Ada", await attempt.Content.ReadAsStringAsync());
        Assert.False(record.GetProperty("headers").TryGetProperty(":remote-addr", out _));
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        Assert.DoesNotContain(saved.Headers, h => h.Key.StartsWith(':'));
    }

    [Fact]
    public async Task Cgi_MalformedOutputs_502AttemptsAndServerStaysHealthy()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("noblank", "mode: cgi\ncommand: echo no blank line\nattempts: 2\ninterval: 10ms\n")
            .WithUnit("garbage", "mode: cgi\ncommand: \"head -c 4096 /dev/urandom | tr '\\\\n:' 'xx'; printf '\\\\n\\\\n'\"\nattempts: 1\n")
            .WithUnit("bighead", "mode: cgi\ncommand: \"yes 'X-Big: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | head -c 1048576; printf '\\\\n\\\\nbody'\"\nattempts: 1\n")
            .WithUnit("fine", "mode: cgi\ncommand: \"printf 'Content-Type: text/plain\\\\n\\\\nstill fine'\"\n")
            .StartAsync();

        var ids = new Dictionary<string, string>();
        foreach (var unit in new[] { "noblank", "garbage", "bighead" })
        {
            ids[unit] = await world.PostAsync(unit, "x");
        }

        foreach (var (unit, id) in ids)
        {
            var record = await world.WaitCompleteAsync(unit, id);
            Assert.Equal("failed", record.GetProperty("outcome").GetString());
            Assert.All(record.GetProperty("attempts").EnumerateArray(), a => Assert.Equal(502, a.GetProperty("code").GetInt32()));
        }

        var fine = await world.PostAsync("fine", "x");
        var fineRecord = await world.WaitCompleteAsync("fine", fine);
        Assert.Equal("succeeded", fineRecord.GetProperty("outcome").GetString());
        Assert.Equal("still fine", await world.GetResultAsync("fine", fine, fineRecord.GetProperty("attempts")[0].GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Cgi_UserNobody_ScriptRunsWithNobodysUid()
    {
        Assert.Equal("root", Environment.UserName); // tests run as root here and in CI
        await using var world = await TestWorld.Create()
            .WithUnit("whoami", "mode: cgi\nuser: nobody\ncommand: \"printf 'Content-Type: text/plain\\\\n\\\\n'; id -u\"\n")
            .WithUnit("binwhoami", "user: nobody\ncommand: id -u\n")
            .StartAsync();

        var cgi = await world.PostAsync("whoami", "x");
        var bin = await world.PostAsync("binwhoami", "x");
        var cgiRecord = await world.WaitCompleteAsync("whoami", cgi);
        var binRecord = await world.WaitCompleteAsync("binwhoami", bin);

        Assert.Equal("65534\n", await world.GetResultAsync("whoami", cgi, cgiRecord.GetProperty("attempts")[0].GetProperty("id").GetString()!));
        Assert.Equal("65534\n", await world.GetResultAsync("binwhoami", bin, binRecord.GetProperty("attempts")[0].GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Server_UnitWithUnknownUser_StartUpFailsNamingFileAndKey()
    {
        await using var world = TestWorld.Create().WithUnit("ghost", "user: no-such-user-nano-run\ncommand: true\n");
        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);

        var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("ghost.yaml: key 'user': no such OS user 'no-such-user-nano-run'", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cgi_100MiBOutput_StreamsWithFlatServerMemory()
    {
        const long Size = 100L * 1024 * 1024;
        await using var world = TestWorld.Create()
            .WithUnit("big", "mode: cgi\ncommand: \"printf 'Content-Type: application/octet-stream\\\\n\\\\n'; head -c \\\"$HTTP_X_SIZE\\\" /dev/zero\"\n");
        using var server = ServerProcess.Start(world.Root, "server", "run", "-c", world.ServerYaml);
        using var client = new HttpClient { BaseAddress = await server.WaitListeningAsync(), Timeout = TimeSpan.FromMinutes(5) };

        // A small run first, so the peak below covers the same code, already loaded and compiled.
        Assert.Equal(1024, await RunAndCountAsync(client, 1024));
        var before = server.PeakResidentKiB();
        var counted = await RunAndCountAsync(client, Size);
        var after = server.PeakResidentKiB();

        Assert.Equal(Size, counted);
        Assert.True(after - before < 48 * 1024, $"peak RSS grew by {(after - before) / 1024} MiB (from {before / 1024} to {after / 1024} MiB) for 100 MiB of output");
    }

    /// <summary>Runs one request with PUT, follows to the result and counts its bytes without keeping them.</summary>
    private static async Task<long> RunAndCountAsync(HttpClient client, long size)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/big/?wait=120s") { Content = new StringContent("x") };
        request.Headers.Add("X-Size", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        return total;
    }
}
