using System.Text.Json;
using NanoRun.Server.Tests.Process;

namespace NanoRun.Server.Tests.Logging;

public sealed class JsonLogTests
{
    [Fact]
    public async Task ServerRun_LogFormatJson_EveryLineIsJsonAndRequestLinesCarryTheId()
    {
        var root = await EchoServerFolderAsync();
        try
        {
            using var server = ServerProcess.Start(root, "server", "run", "--log-format", "json");
            var address = await server.WaitListeningAsync();
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = address };

            using var response = await client.PostAsync("api/echo/", new StringContent("hello"));
            var id = response.Headers.GetValues("X-Correlation-Id").Single();
            await WaitForLineAsync(server, id, "final outcome");
            server.Signal("TERM");
            await server.WaitExitAsync(TimeSpan.FromSeconds(60));
            var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var entries = lines.Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
            var aboutRequest = entries.Where(e => e.GetRawText().Contains(id, StringComparison.Ordinal)).ToList();

            Assert.NotEmpty(entries);
            Assert.All(entries, e => Assert.True(e.TryGetProperty("LogLevel", out _), e.GetRawText()));
            Assert.Contains(aboutRequest, e => Message(e).Contains("accepted", StringComparison.Ordinal));
            Assert.Contains(aboutRequest, e => Message(e).Contains("answered 200", StringComparison.Ordinal));
            Assert.Contains(aboutRequest, e => Message(e).Contains("final outcome Succeeded", StringComparison.Ordinal));
            Assert.All(aboutRequest, e => Assert.True(CarriesRequestId(e, id), e.GetRawText()));

            // The line logged while the HTTP request was handled also carries that request's scope.
            var accepted = aboutRequest.First(e => Message(e).Contains("accepted", StringComparison.Ordinal));
            Assert.Contains(accepted.GetProperty("Scopes").EnumerateArray(), s => s.TryGetProperty("RequestPath", out var path) && path.GetString() == "/api/echo/");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task ServerRun_ProductLogLevelWarningFromEnvironment_NoLinesPerRequest()
    {
        // The documented way to quiet the per-request lifecycle lines on a busy server.
        var root = await EchoServerFolderAsync();
        try
        {
            var environment = new Dictionary<string, string> { ["Logging__LogLevel__NanoRun"] = "Warning" };
            using var server = ServerProcess.StartWithEnvironment(root, environment, "server", "run", "--log-format", "json");
            var address = await server.WaitListeningAsync();
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = address };

            using var response = await client.PutAsync("api/echo/", new StringContent("hello"));
            var id = response.Headers.GetValues("X-Correlation-Id").Single();
            server.Signal("TERM");
            await server.WaitExitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(System.Net.HttpStatusCode.SeeOther, response.StatusCode);
            Assert.DoesNotContain(id, server.Output, StringComparison.Ordinal);
            Assert.Contains("listening", server.Output, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A fresh folder with a server.yaml on a free loopback port and one unit, <c>echo</c>, running <c>cat</c>.</summary>
    private static async Task<string> EchoServerFolderAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "nano-run-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(root, "conf.d"));
        await File.WriteAllTextAsync(Path.Combine(root, "server.yaml"), "bind: 127.0.0.1:0\nworking_directory: data\nconfig_directory: conf.d\n");
        await File.WriteAllTextAsync(Path.Combine(root, "conf.d", "echo.yaml"), "command: cat\n");
        return root;
    }

    private static string Message(JsonElement entry) => entry.GetProperty("Message").GetString() ?? string.Empty;

    /// <summary>Whether the id is a structured value of the line itself or of one of its scopes, not only part of its text.</summary>
    private static bool CarriesRequestId(JsonElement entry, string id)
    {
        if (entry.TryGetProperty("State", out var state) && state.TryGetProperty("RequestId", out var value) && value.GetString() == id)
        {
            return true;
        }

        return entry.TryGetProperty("Scopes", out var scopes)
            && scopes.EnumerateArray().Any(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("RequestId", out var v) && v.GetString() == id);
    }

    private static async Task WaitForLineAsync(ServerProcess server, string id, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!server.Output.Split('\n').Any(l => l.Contains(id, StringComparison.Ordinal) && l.Contains(text, StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no log line with " + text + ":\n" + server.Output);
            await Task.Delay(100);
        }
    }
}
