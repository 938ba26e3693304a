using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Server.Tests.Modes;
using NanoRun.Storage;

namespace NanoRun.Server.Tests.Callbacks;

public sealed class CallbackTests
{
    private const string Secret = "callback-secret";

    /// <summary>Lets a caller's <c>X-Callback-Url</c> reach the loopback receiver, which the default policy refuses.</summary>
    private const string AllowLoopback = "callbacks:\n  allow_networks: [127.0.0.0/8]\n";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Callback_Succeeded_DeliversFinalAttemptWithValidSignature()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var world = await TestWorld.Create()
            .WithUnit("job", $"command: 'printf \"done:\"; cat'\ncallback: {{url: '{receiver.Url}', secret: {Secret}}}\n")
            .StartAsync();

        var id = await world.PostAsync("job", "payload");
        var delivery = await receiver.NextAsync();
        var record = await WaitCallbackStateAsync(world, "job", id, "delivered");

        Assert.Equal("done:payload", delivery.Body);
        Assert.Equal(id, delivery.Header("X-Correlation-Id"));
        Assert.Equal("succeeded", delivery.Header("X-Nano-Run-Outcome"));
        Assert.Equal("1", delivery.Header("X-Nano-Run-Attempts"));
        Assert.Equal("200", delivery.Header("X-Nano-Run-Status"));
        Assert.Equal("0", delivery.Header("X-Return-Code"));
        Assert.Equal(record.GetProperty("attempts")[0].GetProperty("id").GetString(), delivery.Header("X-Attempt-Id"));
        Assert.True(SignatureIsValid(delivery, "job", receiver.Url), delivery.Header("X-Nano-Run-Signature"));
        var callback = record.GetProperty("callback");
        Assert.Equal(1, callback.GetProperty("attempts").GetInt32());
        Assert.Equal(200, callback.GetProperty("last_status").GetInt32());
    }

    [Fact]
    public async Task Callback_ReceiverFailsFirst_IsRetriedUntilDelivered()
    {
        await using var receiver = await Receiver.StartAsync(StatusCodes.Status503ServiceUnavailable);
        await using var world = await TestWorld.Create()
            .WithUnit("job", $"command: 'echo out'\ncallback: {{url: '{receiver.Url}'}}\n")
            .StartAsync();

        var id = await world.PostAsync("job", "");
        var first = await receiver.NextAsync();
        var second = await receiver.NextAsync();
        var record = await WaitCallbackStateAsync(world, "job", id, "delivered");

        Assert.Equal(id, first.Header("X-Correlation-Id"));
        Assert.Equal(id, second.Header("X-Correlation-Id"));
        Assert.Equal("out\n", second.Body);
        Assert.Null(second.Header("X-Nano-Run-Signature"));
        var callback = record.GetProperty("callback");
        Assert.Equal(2, callback.GetProperty("attempts").GetInt32());
        Assert.Equal(200, callback.GetProperty("last_status").GetInt32());
    }

    [Fact]
    public async Task Callback_FailedRequest_DeliversFailureOutcome()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var world = await TestWorld.Create()
            .WithUnit("job", $"command: 'echo broken; exit 3'\nattempts: 2\ninterval: 0s\ncallback: {{url: '{receiver.Url}', on: [failure]}}\n")
            .StartAsync();

        var id = await world.PostAsync("job", "");
        var delivery = await receiver.NextAsync();

        Assert.Equal("failed", delivery.Header("X-Nano-Run-Outcome"));
        Assert.Equal("2", delivery.Header("X-Nano-Run-Attempts"));
        Assert.Equal("502", delivery.Header("X-Nano-Run-Status"));
        Assert.Equal("3", delivery.Header("X-Return-Code"));
        Assert.Equal("broken\n", delivery.Body);
        await WaitCallbackStateAsync(world, "job", id, "delivered");
    }

    [Fact]
    public async Task Callback_OutcomeNotListed_IsSkippedWithoutDelivery()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var world = await TestWorld.Create()
            .WithUnit("job", $"command: 'echo fine'\ncallback: {{url: '{receiver.Url}', on: [failure]}}\n")
            .StartAsync();

        var id = await world.PostAsync("job", "");
        var record = await WaitCallbackStateAsync(world, "job", id, "skipped");

        Assert.Equal(0, record.GetProperty("callback").GetProperty("attempts").GetInt32());
        Assert.Equal(0, receiver.Count);
    }

    [Fact]
    public async Task CallbackUrlHeader_NotAllowed_Answers400AndQueuesNothing()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var world = await TestWorld.Create()
            .WithUnit("closed", $"command: 'echo x'\ncallback: {{url: '{receiver.Url}'}}\n")
            .WithUnit("plain", "command: 'echo x'\n")
            .StartAsync();

        using var closed = await PostWithCallbackUrlAsync(world, "closed", receiver.Url.ToString());
        using var plain = await PostWithCallbackUrlAsync(world, "plain", receiver.Url.ToString());

        Assert.Equal(HttpStatusCode.BadRequest, closed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        Assert.Contains("allow_callback_url", await closed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await StoredIdsAsync(world, "closed"));
        Assert.Empty(await StoredIdsAsync(world, "plain"));
    }

    [Fact]
    public async Task CallbackUrlHeader_Allowed_DeliversToTheRequestsUrl()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var world = await TestWorld.Create(AllowLoopback)
            .WithUnit("open", "command: 'echo mine'\nallow_callback_url: true\n")
            .StartAsync();

        using var bad = await PostWithCallbackUrlAsync(world, "open", "not a url");
        using var response = await PostWithCallbackUrlAsync(world, "open", receiver.Url + "?job=7");
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        var delivery = await receiver.NextAsync();
        var plain = await world.PostAsync("open", "");
        var plainRecord = await world.WaitCompleteAsync("open", plain);

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(id, delivery.Header("X-Correlation-Id"));
        Assert.Equal("?job=7", delivery.Query);
        Assert.Equal("mine\n", delivery.Body);
        Assert.False(plainRecord.TryGetProperty("callback", out _));
    }

    [Fact]
    public async Task CallbackUrlHeader_LoopbackTarget_RefusedWithGenericErrorUnlessNetworkAllowed()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var world = await TestWorld.Create()
            .WithUnit("open", "command: 'echo mine'\nallow_callback_url: true\n")
            .StartAsync();
        var mapped = receiver.Url.ToString().Replace("127.0.0.1", "[::ffff:127.0.0.1]", StringComparison.Ordinal);

        using var direct = await PostWithCallbackUrlAsync(world, "open", receiver.Url.ToString());
        using var viaMapped = await PostWithCallbackUrlAsync(world, "open", mapped);
        var first = await WaitCallbackAttemptsAsync(world, "open", direct.Headers.GetValues("X-Correlation-Id").Single(), 1);
        var second = await WaitCallbackAttemptsAsync(world, "open", viaMapped.Headers.GetValues("X-Correlation-Id").Single(), 1);

        Assert.Equal(0, receiver.Count);
        foreach (var record in new[] { first, second })
        {
            var error = record.GetProperty("callback").GetProperty("last_error").GetString();
            Assert.Equal("callback target refused by policy", error);
        }
    }

    [Fact]
    public async Task Callback_PendingAcrossRestart_IsDeliveredAfterRestart()
    {
        await using var receiver = await Receiver.StartAsync(StatusCodes.Status500InternalServerError);
        await using var world = await TestWorld.Create()
            .WithUnit("job", $"command: 'echo again'\ncallback: {{url: '{receiver.Url}'}}\n")
            .StartAsync();
        var id = await world.PostAsync("job", "");
        await receiver.NextAsync();
        await WaitCallbackAttemptsAsync(world, "job", id, 1);

        await world.StopAsync();
        await world.StartAsync();
        var delivery = await receiver.NextAsync();
        var record = await WaitCallbackStateAsync(world, "job", id, "delivered");

        Assert.Equal(id, delivery.Header("X-Correlation-Id"));
        Assert.Equal(2, record.GetProperty("callback").GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task Callback_SignedBody_IsRefusedByAnHmacUnitWithTheSameSecret()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var world = await TestWorld.Create()
            .WithUnit("job", $"command: 'echo deploy'\ncallback: {{url: '{receiver.Url}', secret: {Secret}}}\n")
            .WithUnit("hook", $"command: cat\nauthorization:\n  hmac: {{enable: true, header: X-Nano-Run-Signature, format: timestamped, secret: {Secret}}}\n")
            .WithUnit("plain", $"command: cat\nauthorization:\n  hmac: {{enable: true, header: X-Nano-Run-Signature, prefix: 'v1=', secret: {Secret}}}\n")
            .StartAsync();
        await world.PostAsync("job", "");
        var delivery = await receiver.NextAsync();

        var answers = new List<HttpStatusCode>();
        foreach (var unit in new[] { "hook", "plain" })
        {
            using var replay = new HttpRequestMessage(HttpMethod.Post, $"api/{unit}/") { Content = new StringContent(delivery.Body) };
            // An attacker may rebuild any layout from what a delivery carries: here the timestamped one, t=…,v1=….
            var signature = unit == "hook"
                ? "t=" + delivery.Header("X-Nano-Run-Timestamp") + "," + delivery.Header("X-Nano-Run-Signature")
                : delivery.Header("X-Nano-Run-Signature");
            replay.Headers.TryAddWithoutValidation("X-Nano-Run-Signature", signature);
            replay.Headers.TryAddWithoutValidation("X-Nano-Run-Timestamp", delivery.Header("X-Nano-Run-Timestamp"));
            using var answer = await world.Client.SendAsync(replay);
            answers.Add(answer.StatusCode);
        }

        Assert.True(SignatureIsValid(delivery, "job", receiver.Url));
        Assert.All(answers, status => Assert.Equal(HttpStatusCode.Forbidden, status));
        Assert.Empty(await StoredIdsAsync(world, "hook"));
        Assert.Empty(await StoredIdsAsync(world, "plain"));
    }

    /// <summary>Verifies a delivery the way docs/api.md tells a receiver to.</summary>
    private static bool SignatureIsValid(Delivery delivery, string unit, Uri url)
    {
        var timestamp = delivery.Header("X-Nano-Run-Timestamp");
        var signature = delivery.Header("X-Nano-Run-Signature");
        Assert.NotNull(timestamp);
        Assert.NotNull(signature);
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes("nano-run-callback:v1"));
        var signed = "nano-run-callback:v1\n" + timestamp + "\n" + unit + "\n" + url.AbsoluteUri + "\n" + delivery.Body;
        var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(signed)));
        var age = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(timestamp, CultureInfo.InvariantCulture);
        return signature == expected && age is >= -5 and < 300;
    }

    private static async Task<HttpResponseMessage> PostWithCallbackUrlAsync(TestWorld world, string unit, string url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/{unit}/") { Content = new StringContent("body") };
        request.Headers.TryAddWithoutValidation("X-Callback-Url", url);
        return await world.Client.SendAsync(request);
    }

    private static Task<JsonElement> WaitCallbackStateAsync(TestWorld world, string unit, string id, string state) =>
        WaitRecordAsync(world, unit, id, callback => callback.GetProperty("state").GetString() == state);

    private static Task<JsonElement> WaitCallbackAttemptsAsync(TestWorld world, string unit, string id, int attempts) =>
        WaitRecordAsync(world, unit, id, callback => callback.GetProperty("attempts").GetInt32() >= attempts);

    /// <summary>Polls the record until its callback section satisfies <paramref name="done"/>.</summary>
    private static async Task<JsonElement> WaitRecordAsync(TestWorld world, string unit, string id, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var record = await world.GetRecordAsync(unit, id);
            if (record.TryGetProperty("callback", out var callback) && done(callback))
            {
                return record;
            }

            Assert.True(DateTime.UtcNow < deadline, "callback not in the expected state: " + record);
            await Task.Delay(50);
        }
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

    /// <summary>A loopback Kestrel that records each callback it receives and answers the given statuses first, then 200.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly Channel<Delivery> _deliveries = Channel.CreateUnbounded<Delivery>();
        private readonly Queue<int> _statuses;
        private Upstream? _server;
        private int _count;

        private Receiver(int[] failFirst) => _statuses = new Queue<int>(failFirst);

        public Uri Url => new(_server!.Address, "hook");

        public int Count => Volatile.Read(ref _count);

        public static async Task<Receiver> StartAsync(params int[] failFirst)
        {
            var receiver = new Receiver(failFirst);
            receiver._server = await Upstream.StartAsync(receiver.HandleAsync);
            return receiver;
        }

        public async Task<Delivery> NextAsync()
        {
            using var timeout = new CancellationTokenSource(Patience);
            return await _deliveries.Reader.ReadAsync(timeout.Token);
        }

        public async ValueTask DisposeAsync()
        {
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }

        private async Task HandleAsync(HttpContext context)
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var header in context.Request.Headers)
            {
                headers[header.Key] = header.Value.ToString();
            }

            int status;
            lock (_statuses)
            {
                status = _statuses.Count > 0 ? _statuses.Dequeue() : StatusCodes.Status200OK;
            }

            Interlocked.Increment(ref _count);
            context.Response.StatusCode = status;
            await _deliveries.Writer.WriteAsync(new Delivery(context.Request.Method, context.Request.QueryString.Value ?? "", headers, body));
        }
    }

    private sealed record Delivery(string Method, string Query, Dictionary<string, string> Headers, string Body)
    {
        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
    }
}
