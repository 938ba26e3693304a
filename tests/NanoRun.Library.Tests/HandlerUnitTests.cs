using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.AspNetCore;
using NanoRun.Jobs;

namespace NanoRun.Library.Tests;

public sealed class HandlerUnitTests
{
    [Fact]
    public async Task HandlerUnit_FailsThenSucceeds_RetriesAndStoresEveryAttempt()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("upper", unit =>
        {
            unit.Attempts = 3;
            unit.Interval = TimeSpan.FromMilliseconds(50);
            unit.Handle(async (job, ct) =>
            {
                if (job.Attempt == 1)
                {
                    throw new InvalidOperationException("first attempt breaks");
                }

                if (job.Attempt == 2)
                {
                    job.StatusCode = 503;
                    return;
                }

                using var reader = new StreamReader(job.RequestBody);
                var text = await reader.ReadToEndAsync(ct);
                job.ResponseHeaders.Add(new("X-Seen", job.Method + " " + job.Path + job.Query + " " + job.Header("X-Kind")));
                await job.ResponseBody.WriteAsync(Encoding.UTF8.GetBytes(text.ToUpperInvariant()), ct);
            });
        }));

        var id = await world.Client.EnqueueAsync("upper", new MemoryStream("hello"u8.ToArray()), [new("X-Kind", "greeting")]);
        var record = await world.Client.WaitAsync("upper", id, LibraryWorld.Patience);
        await using var result = await world.Client.GetResultAsync("upper", id);
        var body = await new StreamReader(result.Body).ReadToEndAsync();

        Assert.Equal("succeeded", record.Outcome);
        Assert.Equal(new[] { 500, 503, 200 }, record.Attempts.Select(a => a.Code));
        Assert.Contains("first attempt breaks", record.Attempts[0].Headers["X-Nano-Run-Error"][0], StringComparison.Ordinal);
        Assert.Equal(200, result.StatusCode);
        Assert.Equal("HELLO", body);
        Assert.Equal("POST /api/upper/ greeting", result.Header("X-Seen"));
    }

    [Fact]
    public async Task HandlerUnit_AlwaysFails_StopsAfterExactAttempts()
    {
        var calls = 0;
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("broken", unit =>
        {
            unit.Attempts = 2;
            unit.Interval = TimeSpan.FromMilliseconds(20);
            unit.Handle((job, ct) =>
            {
                Interlocked.Increment(ref calls);
                throw new IOException("disk on fire");
            });
        }));

        var id = await world.Client.EnqueueAsync("broken", null);
        var record = await world.Client.WaitAsync("broken", id, LibraryWorld.Patience);

        Assert.Equal("failed", record.Outcome);
        Assert.Equal(2, record.Attempts.Count);
        Assert.Equal(2, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task HandlerUnit_LargeBody_StreamsThroughToTheResult()
    {
        const int size = 24 * 1024 * 1024;
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("copy", unit =>
        {
            unit.MaxRequest = 0;
            unit.Handle((job, ct) => job.RequestBody.CopyToAsync(job.ResponseBody, ct));
        }));

        var id = await world.Client.EnqueueAsync("copy", new PatternStream(size));
        await world.Client.WaitAsync("copy", id, LibraryWorld.Patience);
        await using var result = await world.Client.GetResultAsync("copy", id);
        var check = new PatternStream(size);
        var buffer = new byte[64 * 1024];
        var expected = new byte[buffer.Length];
        long total = 0;
        int read;
        var same = true;
        while ((read = await result.Body.ReadAsync(buffer)) > 0)
        {
            await check.ReadExactlyAsync(expected.AsMemory(0, read));
            same &= buffer.AsSpan(0, read).SequenceEqual(expected.AsSpan(0, read));
            total += read;
        }

        Assert.Equal(200, result.StatusCode);
        Assert.Equal(size, total);
        Assert.True(same);
    }

    [Fact]
    public async Task DiHandler_EachAttempt_GetsAFreshScope()
    {
        var probes = new ConcurrentQueue<ScopeProbe>();
        await using var world = await LibraryWorld.StartAsync(
            nanoRun => nanoRun.AddUnit("scoped", unit =>
            {
                unit.Attempts = 3;
                unit.Interval = TimeSpan.FromMilliseconds(20);
                unit.Handle<ScopedHandler>();
            }),
            services: services =>
            {
                services.AddSingleton(probes);
                services.AddScoped<ScopeProbe>();
            });

        var id = await world.Client.EnqueueAsync("scoped", null);
        var record = await world.Client.WaitAsync("scoped", id, LibraryWorld.Patience);

        Assert.Equal(new[] { 500, 500, 200 }, record.Attempts.Select(a => a.Code));
        var seen = probes.ToArray();
        Assert.Equal(3, seen.Length);
        Assert.Equal(3, seen.Select(p => p.Id).Distinct().Count());
        Assert.All(seen, p => Assert.True(p.Disposed));
    }

    [Fact]
    public async Task HandlerUnit_NoStatusAndNoOutput_Is204()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("quiet", unit => unit.Handle((job, ct) => Task.CompletedTask)));

        var id = await world.Client.EnqueueAsync("quiet", null);
        var record = await world.Client.WaitAsync("quiet", id, LibraryWorld.Patience);

        Assert.Equal(204, Assert.Single(record.Attempts).Code);
    }

    [Fact]
    public async Task AddUnitsFromDirectory_ShellUnitBesideHandler_BothServe()
    {
        var conf = Path.Combine(Path.GetTempPath(), "nano-run-lib-conf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(conf);
        await File.WriteAllTextAsync(Path.Combine(conf, "hello.yaml"), "command: printf hi\n");
        try
        {
            await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun
                .AddUnitsFromDirectory(conf)
                .AddUnit("code", unit => unit.Handle((job, ct) => job.ResponseBody.WriteAsync("yo"u8.ToArray(), ct).AsTask())));

            var shell = await world.Client.EnqueueAsync("hello", null);
            var code = await world.Client.EnqueueAsync("code", null);
            await world.Client.WaitAsync("hello", shell, LibraryWorld.Patience);
            await world.Client.WaitAsync("code", code, LibraryWorld.Patience);
            await using var shellResult = await world.Client.GetResultAsync("hello", shell);
            await using var codeResult = await world.Client.GetResultAsync("code", code);

            Assert.Equal("hi", await new StreamReader(shellResult.Body).ReadToEndAsync());
            Assert.Equal("yo", await new StreamReader(codeResult.Body).ReadToEndAsync());
        }
        finally
        {
            Directory.Delete(conf, recursive: true);
        }
    }

    [Fact]
    public void AddUnit_WithoutHandler_Throws()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<InvalidOperationException>(() => services.AddNanoRun().AddUnit("empty", _ => { }));

        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapNanoRun_RequireAuthorization_RefusesAnonymousCallers()
    {
        await using var world = await LibraryWorld.StartAsync(
            nanoRun => nanoRun.AddUnit("guarded", unit => unit.Handle((job, ct) => Task.CompletedTask)),
            map: mapped => mapped.Group.RequireAuthorization(),
            services: services =>
            {
                services.AddAuthentication(TestUserHandler.SchemeName).AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, TestUserHandler>(TestUserHandler.SchemeName, null);
                services.AddAuthorization();
            });

        using var anonymous = await world.Http.PostAsync("api/guarded/", new StringContent("x"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/guarded/") { Content = new StringContent("x") };
        request.Headers.Add("X-Test-User", "alice");
        using var signedIn = await world.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, signedIn.StatusCode);
    }

    /// <summary>A scoped service whose instances the test counts.</summary>
    public sealed class ScopeProbe : IDisposable
    {
        public Guid Id { get; } = Guid.NewGuid();

        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    /// <summary>Fails its first two attempts; records the scope probe of each.</summary>
    public sealed class ScopedHandler(ScopeProbe probe, ConcurrentQueue<ScopeProbe> probes) : IJobHandler
    {
        public Task HandleAsync(JobContext job, CancellationToken cancellationToken)
        {
            probes.Enqueue(probe);
            job.StatusCode = job.Attempt < 3 ? 500 : 200;
            return Task.CompletedTask;
        }
    }
}

/// <summary>A deterministic read-only stream of <c>length</c> bytes, never held in memory.</summary>
internal sealed class PatternStream(long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - _position);
        for (var i = 0; i < n; i++)
        {
            buffer[i] = (byte)((_position + i) * 31 % 251);
        }

        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
