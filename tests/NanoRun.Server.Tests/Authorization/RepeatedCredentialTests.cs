using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Storage;

namespace NanoRun.Server.Tests.Authorization;

/// <summary>A request may carry one credential per authorization method; several are refused before any is verified.</summary>
public sealed class RepeatedCredentialTests
{
    /// <summary>bcrypt cost 12 of <c>wonder</c> (libxcrypt's <c>crypt</c>): about a quarter of a second per check on a fast core.</summary>
    private const string AliceHashCost12 = "$2b$12$abcdefghijklmnopqrstuues5iPxfR6bGeXtAOhz8yENSl9rFNjBC";

    [Fact]
    public async Task ManyBasicHeaders_Answer400QuicklyAndStoreNothing()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("b", $"command: cat\nauthorization:\n  basic:\n    enable: true\n    users:\n      alice: '{AliceHashCost12}'\n")
            .StartAsync();
        var headers = new StringBuilder();
        for (var i = 0; i < 90; i++)
        {
            headers.Append("Authorization: Basic ").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:wrong" + i))).Append("\r\n");
        }

        var watch = Stopwatch.StartNew();
        var (status, text) = await RawAsync(world, "POST /api/b/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n" + headers + "\r\nx");
        watch.Stop();

        Assert.Equal(400, status);
        Assert.Contains("Authorization", text, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Empty(await StoredIdsAsync(world, "b"));
    }

    [Fact]
    public async Task TwoTokenHeadersOrTwoQueryTokens_Answer400_OneAnswersAsBefore()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("h", "command: cat\nauthorization:\n  header_token: {enable: true, tokens: [right]}\n  query_token: {enable: true, tokens: [right]}\n")
            .StartAsync();

        var (twoHeaders, _) = await RawAsync(world, "POST /api/h/ HTTP/1.1\r\nHost: x\r\nX-Api-Token: wrong\r\nX-Api-Token: right\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
        var (twoQueries, _) = await RawAsync(world, "POST /api/h/?token=wrong&token=right HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
        var (one, _) = await RawAsync(world, "POST /api/h/?token=right HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");

        Assert.Equal(400, twoHeaders);
        Assert.Equal(400, twoQueries);
        Assert.Equal(303, one);
        Assert.Single(await StoredIdsAsync(world, "h"));
    }

    [Fact]
    public async Task Basic_RepeatedValidCredential_IsAcceptedEachTime()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("b", $"command: cat\nauthorization:\n  basic:\n    enable: true\n    users:\n      alice: '{AliceHashCost12}'\n")
            .StartAsync();
        var good = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:wonder"));
        var bad = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:wonderx"));

        var statuses = new List<HttpStatusCode>();
        foreach (var credential in new[] { good, good, bad, good })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/b/") { Content = new StringContent("x") };
            request.Headers.TryAddWithoutValidation("Authorization", credential);
            using var response = await world.Client.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.SeeOther, HttpStatusCode.SeeOther, HttpStatusCode.Unauthorized, HttpStatusCode.SeeOther], statuses);
    }

    private static async Task<(int Status, string Text)> RawAsync(TestWorld world, string request)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await client.ConnectAsync(world.BaseAddress.Host, world.BaseAddress.Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var text = await reader.ReadToEndAsync(timeout.Token);
        var status = int.Parse(text.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);
        return (status, text);
    }

    private static async Task<List<string>> StoredIdsAsync(TestWorld world, string unit)
    {
        var ids = new List<string>();
        await foreach (var summary in world.Services.GetRequiredService<IRequestStore>().PageAsync(new PageParams(unit, 100)))
        {
            ids.Add(summary.Id);
        }

        return ids;
    }
}
