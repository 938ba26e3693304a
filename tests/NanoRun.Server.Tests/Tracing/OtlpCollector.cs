using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using NanoRun.Server.Tests.Modes;

namespace NanoRun.Server.Tests.Tracing;

/// <summary>An OTLP/HTTP trace receiver on a loopback port that keeps every export request it is sent, from any number of nodes.</summary>
internal sealed class OtlpCollector : IAsyncDisposable
{
    private readonly ConcurrentQueue<byte[]> _payloads = new();
    private Upstream? _server;

    private OtlpCollector()
    {
    }

    /// <summary>The base URL to give as <c>tracing.otlp_endpoint</c>.</summary>
    public Uri Address => _server!.Address;

    public static async Task<OtlpCollector> StartAsync()
    {
        var collector = new OtlpCollector();
        collector._server = await Upstream.StartAsync(collector.ReceiveAsync);
        return collector;
    }

    /// <summary>Waits (at most 60 s: an exporter sends a batch every 5 s) until spans of every name of the trace have arrived, and returns the trace's spans.</summary>
    public async Task<List<OtlpSpan>> WaitSpansAsync(string traceId, params string[] names)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var spans = _payloads.SelectMany(OtlpPayload.Spans).Where(span => span.TraceId == traceId).ToList();
            if (names.All(name => spans.Any(span => span.Name == name)))
            {
                return spans;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the collector received {_payloads.Count} payloads without the spans of trace {traceId}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        if (context.Request.Method != HttpMethods.Post || context.Request.Path != "/v1/traces")
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        _payloads.Enqueue(body.ToArray());
        context.Response.ContentType = "application/x-protobuf";
    }
}
