using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.Client;
using NanoRun.Units;

namespace NanoRun.Library.Tests;

/// <summary>A library host queues work from its own code through <see cref="INanoRunQueue"/>.</summary>
public sealed class QueueTests
{
    [Fact]
    public async Task Queue_EnqueueFromHostCode_RunsAtOnceWithPrincipalAndBody()
    {
        var seen = new TaskCompletionSource<(string? Principal, string Body, string? Type)>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Polls five minutes apart: only the enqueue's own wake-up can run the job within the test's patience.
        await using var world = await LibraryWorld.StartAsync(
            nanoRun => nanoRun.AddUnit("orders", unit => unit.Handle(async (job, ct) =>
            {
                using var reader = new StreamReader(job.RequestBody);
                seen.TrySetResult((job.Principal, await reader.ReadToEndAsync(ct), job.Header("Content-Type")));
            })),
            engine: options => options.PollInterval = TimeSpan.FromMinutes(5));
        var queue = world.Services.GetRequiredService<INanoRunQueue>();
        await Task.Delay(500);
        var clock = Stopwatch.StartNew();

        var result = await queue.EnqueueJsonAsync("orders", new Order(42), OrderInfo, options: new EnqueueOptions { Principal = "app:alice" });
        var (principal, body, type) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(AdmissionOutcome.Admitted, result.Admission.Outcome);
        Assert.NotNull(result.Id);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the job ran after {clock.Elapsed}");
        Assert.Equal("app:alice", principal);
        Assert.Equal("{\"Number\":42}", body);
        Assert.Equal("application/json", type);
    }

    [Fact]
    public async Task Queue_EnqueueWithNotBefore_AcknowledgedNowAttemptedNoEarlier()
    {
        var started = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("later", unit => unit.Handle((job, ct) =>
        {
            started.TrySetResult(DateTimeOffset.UtcNow);
            return Task.CompletedTask;
        })));
        var queue = world.Services.GetRequiredService<INanoRunQueue>();
        var notBefore = DateTimeOffset.UtcNow.AddSeconds(2);

        var result = await queue.EnqueueAsync("later", "x"u8.ToArray(), options: new EnqueueOptions { NotBefore = notBefore });
        var record = await world.Services.GetRequiredService<NanoRun.Requests.INanoRunRequests>().GetAsync(result.Id!);
        var ranAt = await started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(AdmissionOutcome.Admitted, result.Admission.Outcome);
        Assert.Equal(notBefore.ToUnixTimeMilliseconds(), record?.NotBefore?.ToUnixTimeMilliseconds());
        Assert.True(ranAt >= notBefore.AddMilliseconds(-5), $"the job ran at {ranAt:O}, before {notBefore:O}");
    }

    [Fact]
    public async Task Queue_UnknownUnitAndRepeatedKey_AnswerRefusalAndEarlierId()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("ping", unit => unit.Handle((job, ct) => Task.CompletedTask)));
        var queue = world.Services.GetRequiredService<INanoRunQueue>();
        var keyed = new EnqueueOptions { IdempotencyKey = "order-7" };

        var unknown = await queue.EnqueueAsync("nope", "x"u8.ToArray());
        var first = await queue.EnqueueAsync("ping", "x"u8.ToArray(), options: keyed);
        var again = await queue.EnqueueAsync("ping", "y"u8.ToArray(), options: keyed);

        Assert.Null(unknown.Id);
        Assert.Equal(AdmissionOutcome.UnknownUnit, unknown.Admission.Outcome);
        Assert.Contains("nope", unknown.Admission.Reason, StringComparison.Ordinal);
        Assert.Equal(AdmissionOutcome.Admitted, first.Admission.Outcome);
        Assert.Equal(AdmissionOutcome.Replayed, again.Admission.Outcome);
        Assert.Equal(first.Id, again.Id);
    }

    [Fact]
    public async Task JobContext_HttpCallerWithToken_SeesItsPrincipalWithoutTheToken()
    {
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("locked", unit =>
        {
            unit.Authorization = new UnitAuthorization { HeaderToken = new TokenAuthorization { Name = "X-Api-Token", Tokens = ["s3cret-token"] } };
            unit.Handle((job, ct) =>
            {
                seen.TrySetResult(job.Principal);
                return Task.CompletedTask;
            });
        }));

        await world.ClientWithToken("s3cret-token").EnqueueAsync("locked", null);
        var principal = await seen.Task.WaitAsync(LibraryWorld.Patience);

        Assert.NotNull(principal);
        Assert.Matches("^token:sha256:[0-9a-f]{16}$", principal);
        Assert.DoesNotContain("s3cret", principal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_PlainHttpClientFollowingRedirects_KeepsItsCredential()
    {
        await using var world = await LibraryWorld.StartAsync(nanoRun => nanoRun.AddUnit("locked", unit =>
        {
            // Only Authorization admits, and a redirect-following handler drops exactly that header.
            unit.Authorization = new UnitAuthorization { HeaderToken = new TokenAuthorization { Name = "Authorization", Tokens = ["Bearer right"] } };
            unit.Handle((job, ct) => job.ResponseBody.WriteAsync("done"u8.ToArray(), ct).AsTask());
        }));
        using var http = new HttpClient { BaseAddress = world.BaseAddress };
        var client = new NanoRunClient(http, new NanoRunClientOptions { Token = "right" });

        var id = await client.EnqueueAsync("locked", new MemoryStream(Encoding.UTF8.GetBytes("x")));
        var record = await client.WaitAsync("locked", id, LibraryWorld.Patience);
        var retried = await client.RetryAsync("locked", id);

        Assert.Equal(32, id.Length);
        Assert.True(record.Complete);
        Assert.Equal(32, retried.Length);
        Assert.NotEqual(id, retried);
    }

    private static readonly JsonTypeInfo<Order> OrderInfo = (JsonTypeInfo<Order>)JsonSerializerOptions.Default.GetTypeInfo(typeof(Order));

    private sealed record Order(int Number);
}
