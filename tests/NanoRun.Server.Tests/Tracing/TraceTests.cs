using System.Diagnostics;
using NanoRun.Server.Tests.Modes;
using NanoRun.Storage.PostgreSql;

namespace NanoRun.Server.Tests.Tracing;

public sealed class TraceTests
{
    [Fact]
    public async Task Trace_IncomingTraceparent_AttemptContinuesItAndCommandSeesAChildSpan()
    {
        using var spans = new SpanRecorder();
        await using var world = await TestWorld.Create()
            .WithUnit("traced", "command: 'printf %s \"$TRACEPARENT\"'\n")
            .StartAsync();
        var (traceId, clientSpan, traceparent) = NewTraceparent();

        var id = await world.PostAsync("traced", "x", ("traceparent", traceparent));
        var record = await world.WaitCompleteAsync("traced", id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString()!;
        var seen = await world.GetResultAsync("traced", id, attemptId);
        var accept = await spans.WaitAsync(traceId, "nanorun.accept");
        var attempt = await spans.WaitAsync(traceId, "nanorun.attempt");

        Assert.Equal(clientSpan, accept.ParentSpanId);
        Assert.Equal(accept.SpanId, attempt.ParentSpanId);
        Assert.Equal($"00-{traceId}-{attempt.SpanId}-01", seen);
        Assert.NotEqual(clientSpan.ToHexString(), attempt.SpanId.ToHexString());
        Assert.Equal("traced", accept.GetTagItem("nanorun.unit"));
        Assert.Equal(id, accept.GetTagItem("nanorun.request.id"));
        Assert.Equal("admitted", accept.GetTagItem("nanorun.outcome"));
        Assert.Equal("traced", attempt.GetTagItem("nanorun.unit"));
        Assert.Equal(id, attempt.GetTagItem("nanorun.request.id"));
        Assert.Equal(attemptId, attempt.GetTagItem("nanorun.attempt.id"));
        Assert.Equal(1, attempt.GetTagItem("nanorun.attempt.number"));
        Assert.False(string.IsNullOrEmpty(attempt.GetTagItem("nanorun.node") as string));
        Assert.Equal("succeeded", attempt.GetTagItem("nanorun.outcome"));
    }

    [Fact]
    public async Task Trace_NoIncomingTraceparent_AcceptStartsATraceThatTheAttemptContinues()
    {
        using var spans = new SpanRecorder();
        await using var world = await TestWorld.Create()
            .WithUnit("fresh", "command: 'printf %s \"$TRACEPARENT\"'\n")
            .StartAsync();

        // In this process the test's own HttpClient would send the context of any activity around it: this one sends none.
        using var plain = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null, AllowAutoRedirect = false }) { BaseAddress = world.BaseAddress };
        using var response = await plain.PostAsync("api/fresh/", new StringContent("x"));
        Assert.Equal(System.Net.HttpStatusCode.SeeOther, response.StatusCode);
        Assert.False(response.RequestMessage!.Headers.Contains("traceparent"));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        var record = await world.WaitCompleteAsync("fresh", id);
        var seen = await world.GetResultAsync("fresh", id, record.GetProperty("attempts")[0].GetProperty("id").GetString()!);
        var traceId = ActivityTraceId.CreateFromString(seen.AsSpan(3, 32));
        var accept = await spans.WaitAsync(traceId, "nanorun.accept");
        var attempt = await spans.WaitAsync(traceId, "nanorun.attempt");

        Assert.Equal(default, accept.ParentSpanId);
        Assert.Equal(id, accept.GetTagItem("nanorun.request.id"));
        Assert.Equal(accept.SpanId, attempt.ParentSpanId);
        Assert.Equal($"00-{traceId}-{attempt.SpanId}-01", seen);
    }

    [Fact]
    public async Task Trace_ProxyUnit_UpstreamReceivesTheAttemptsTraceparent()
    {
        using var spans = new SpanRecorder();
        var received = new TaskCompletionSource<(string Parent, string State)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await Upstream.StartAsync(context =>
        {
            received.TrySetResult((context.Request.Headers["traceparent"].ToString(), context.Request.Headers["tracestate"].ToString()));
            return Task.CompletedTask;
        });
        await using var world = await TestWorld.Create()
            .WithUnit("forward", $"mode: proxy\ncommand: {upstream.Address}\n")
            .StartAsync();
        var (traceId, _, traceparent) = NewTraceparent();

        await world.PostAsync("forward", "x", ("traceparent", traceparent), ("tracestate", "vendor=abc"));
        var (parent, state) = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var attempt = await spans.WaitAsync(traceId, "nanorun.attempt");

        Assert.Equal($"00-{traceId}-{attempt.SpanId}-01", parent);
        Assert.Equal("vendor=abc", state);
    }

    [Fact]
    public async Task Trace_Callback_ReceiverContinuesTheRequestsTrace()
    {
        using var spans = new SpanRecorder();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await Upstream.StartAsync(context =>
        {
            received.TrySetResult(context.Request.Headers["traceparent"].ToString());
            return Task.CompletedTask;
        });
        await using var world = await TestWorld.Create()
            .WithUnit("notify", $"command: cat\ncallback: {{url: '{receiver.Address}hook'}}\n")
            .StartAsync();
        var (traceId, _, traceparent) = NewTraceparent();

        var id = await world.PostAsync("notify", "x", ("traceparent", traceparent));
        var seen = await received.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var callback = await spans.WaitAsync(traceId, "nanorun.callback");
        var accept = await spans.WaitAsync(traceId, "nanorun.accept");

        Assert.Equal($"00-{traceId}-{callback.SpanId}-01", seen);
        Assert.Equal(accept.SpanId, callback.ParentSpanId);
        Assert.Equal(id, callback.GetTagItem("nanorun.request.id"));
        Assert.Equal("delivered", callback.GetTagItem("nanorun.outcome"));
    }

    [Fact]
    public async Task Trace_OtlpEndpoint_ExportsTheRequestsSpansWithTraceIdAndUnit()
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using var world = await TestWorld.Create($"tracing:\n  otlp_endpoint: {collector.Address}\n")
            .WithUnit("exported", "command: 'true'\n")
            .StartAsync();
        var (traceId, clientSpan, traceparent) = NewTraceparent();

        var id = await world.PostAsync("exported", "x", ("traceparent", traceparent));
        await world.WaitCompleteAsync("exported", id);
        var exported = await collector.WaitSpansAsync(traceId.ToHexString(), "nanorun.accept", "nanorun.attempt");

        var accept = exported.Single(span => span.Name == "nanorun.accept");
        var attempt = exported.Single(span => span.Name == "nanorun.attempt");
        Assert.Equal(clientSpan.ToHexString(), accept.ParentSpanId);
        Assert.Equal(accept.SpanId, attempt.ParentSpanId);
        Assert.Equal("exported", accept.Attributes["nanorun.unit"]);
        Assert.Equal("exported", attempt.Attributes["nanorun.unit"]);
        Assert.Equal(id, attempt.Attributes["nanorun.request.id"]);
    }

    [Fact]
    public async Task Trace_NodeDiesAfterAccepting_AttemptOnAnotherNodeContinuesTheAcceptSpan()
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using var database = await TestDatabase.CreateAsync();
        var tracing = $"tracing:\n  otlp_endpoint: {collector.Address}\n";
        await using var alphaWorld = TestWorld.Create("node_name: alpha\n" + tracing).WithPostgreSql(database.ConnectionString, lease: "2s")
            .WithUnit("job", "command: 'sleep 30'\n");
        await using var betaWorld = TestWorld.Create("node_name: beta\n" + tracing).WithPostgreSql(database.ConnectionString, lease: "2s")
            .WithUnit("job", "command: 'printf %s \"$TRACEPARENT\"'\n");
        var alpha = await alphaWorld.StartProcessAsync();
        var (traceId, clientSpan, traceparent) = NewTraceparent();

        // Alpha accepts the request and takes it; once its accept span is exported it dies, and beta takes the request
        // over when alpha's lease runs out.
        var id = await alphaWorld.PostAsync("job", "x", ("traceparent", traceparent));
        await collector.WaitSpansAsync(traceId.ToHexString(), "nanorun.accept");
        alpha.KillHard();
        await alpha.WaitExitAsync(TimeSpan.FromSeconds(10));
        await betaWorld.StartProcessAsync();
        var record = await betaWorld.WaitCompleteAsync("job", id, TimeSpan.FromSeconds(60));
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString()!;
        var seen = await betaWorld.GetResultAsync("job", id, attemptId);
        var exported = await collector.WaitSpansAsync(traceId.ToHexString(), "nanorun.accept", "nanorun.attempt");

        var accept = exported.Single(span => span.Name == "nanorun.accept");
        var attempt = exported.Single(span => span.Name == "nanorun.attempt");
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        Assert.Equal("alpha", accept.Resource["service.instance.id"]);
        Assert.Equal(clientSpan.ToHexString(), accept.ParentSpanId);
        Assert.Equal(id, accept.Attributes["nanorun.request.id"]);
        Assert.Equal("beta", attempt.Resource["service.instance.id"]);
        Assert.Equal("beta", attempt.Attributes["nanorun.node"]);
        Assert.Equal(attemptId, attempt.Attributes["nanorun.attempt.id"]);
        Assert.Equal(accept.SpanId, attempt.ParentSpanId);
        Assert.Equal($"00-{traceId}-{attempt.SpanId}-01", seen);
    }

    private static (ActivityTraceId TraceId, ActivitySpanId SpanId, string Header) NewTraceparent()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var spanId = ActivitySpanId.CreateRandom();
        return (traceId, spanId, $"00-{traceId}-{spanId}-01");
    }
}
