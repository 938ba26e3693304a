using System.Text;
using Microsoft.Extensions.Time.Testing;
using NanoRun.Requests;
using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The world and helpers every conformance suite class shares: a fresh, initialized provider per test over
/// a <typeparamref name="TWorld"/>, and a fake clock.</summary>
/// <typeparam name="TWorld">The provider's world: how to open its stores over one test's isolated storage.</typeparam>
public abstract class StoreConformanceTests<TWorld> : IAsyncLifetime
    where TWorld : StoreWorld, new()
{
    private protected const string Unit = "unit";
    private protected const string Owner = "node-a";

    /// <summary>This test's fake clock, starting at 2025-01-02 03:04:05.678 UTC; the stores are opened with it.</summary>
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));

    /// <summary>This test's world.</summary>
    protected TWorld World { get; } = new();

    /// <summary>The request store under test, initialized.</summary>
    protected IRequestStore Store { get; private set; } = null!;

    /// <summary>The blob store under test.</summary>
    protected IBlobStore Blobs { get; private set; } = null!;

    /// <summary>Opens and initializes the stores over a fresh world.</summary>
    public Task InitializeAsync() => OpenAndInitializeAsync();

    /// <summary>Closes the stores and removes the world.</summary>
    public async Task DisposeAsync()
    {
        await CloseAsync();
        await World.DisposeAsync();
    }


    /// <summary>Closes the stores and opens them again over the same data.</summary>
    protected async Task ReopenAsync()
    {
        await CloseAsync();
        await OpenAndInitializeAsync();
    }

    private protected NewRequest NewRequest(
        string unit = Unit,
        IReadOnlyList<KeyValuePair<string, string>>? headers = null,
        BodyRef? body = null) =>
        new(RequestId.New(Time), unit, "POST", $"/api/{unit}/", headers ?? [new("Content-Type", "text/plain")], body ?? new BodyRef(null, [42], 1), Time.GetUtcNow());

    /// <summary>Enqueues <paramref name="count"/> requests and returns their ids oldest first; one millisecond apart unless concurrent.</summary>
    private protected async Task<string[]> EnqueueManyAsync(int count, string unit = Unit, bool concurrent = false)
    {
        var requests = new NewRequest[count];
        for (var i = 0; i < count; i++)
        {
            requests[i] = NewRequest(unit);
            if (!concurrent)
            {
                await Store.EnqueueAsync(requests[i]);
                Time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        if (concurrent)
        {
            await Task.WhenAll(requests.Select(r => Task.Run(() => Store.EnqueueAsync(r))));
        }

        return requests.Select(r => r.Id).ToArray();
    }

    private protected Task<IReadOnlyList<ClaimedRequest>> ClaimAsync(int limit = 10, string owner = Owner, TimeSpan? leaseFor = null, string unit = Unit) =>
        Store.ClaimAsync(new ClaimParams(unit, limit, owner, Time.GetUtcNow(), Time.GetUtcNow() + (leaseFor ?? TimeSpan.FromSeconds(30))));

    private protected AttemptOutcome Outcome(
        ClaimedRequest claimed,
        int code,
        RequestState next,
        string owner = Owner,
        DateTimeOffset? nextRunAt = null,
        IReadOnlyList<KeyValuePair<string, string>>? headers = null,
        BodyRef? result = null) =>
        new(
            claimed.Id,
            owner,
            new AttemptRecord(RequestId.New(Time), claimed.AttemptsSoFar + 1, code, headers ?? [], result ?? new BodyRef(null, [1, 2], 2), Time.GetUtcNow().AddMilliseconds(-250), Time.GetUtcNow()),
            next,
            nextRunAt ?? Time.GetUtcNow());

    private protected static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private protected static string[] Ids(IReadOnlyList<ClaimedRequest> claimed) => claimed.Select(c => c.Id).ToArray();

    private protected static void AssertBody(BodyRef expected, BodyRef actual)
    {
        Assert.Equal(expected.Key, actual.Key);
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(expected.Inline, actual.Inline);
    }

    private protected static void AssertSameRecord(RequestRecord expected, RequestRecord actual)
    {
        Assert.Equal(expected with { Headers = [], Body = BodyRef.Empty, Attempts = [] }, actual with { Headers = [], Body = BodyRef.Empty, Attempts = [] });
        Assert.Equal(expected.Headers, actual.Headers);
        AssertBody(expected.Body, actual.Body);
        Assert.Equal(expected.Attempts.Count, actual.Attempts.Count);
        for (var i = 0; i < expected.Attempts.Count; i++)
        {
            Assert.Equal(
                expected.Attempts[i] with { Headers = [], Result = BodyRef.Empty, Stderr = BodyRef.Empty },
                actual.Attempts[i] with { Headers = [], Result = BodyRef.Empty, Stderr = BodyRef.Empty });
            Assert.Equal(expected.Attempts[i].Headers, actual.Attempts[i].Headers);
            AssertBody(expected.Attempts[i].Result, actual.Attempts[i].Result);
            AssertBody(expected.Attempts[i].Stderr, actual.Attempts[i].Stderr);
        }
    }

    private protected async Task<List<RequestSummary>> PageAsync(PageParams page)
    {
        var list = new List<RequestSummary>();
        await foreach (var summary in Store.PageAsync(page))
        {
            list.Add(summary);
        }

        return list;
    }

    private protected async Task<byte[]> ReadAllBytesAsync(BodyRef body)
    {
        await using var stream = await Blobs.OpenReadAsync(body);
        Assert.NotNull(stream);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private protected async Task<string> ReadAllTextAsync(BodyRef body) => Encoding.UTF8.GetString(await ReadAllBytesAsync(body));

    private async Task CloseAsync()
    {
        if (Store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    private async Task OpenAndInitializeAsync()
    {
        var stores = await World.OpenAsync(Time);
        (Store, Blobs) = (stores.Requests, stores.Blobs);
        await Store.InitializeAsync();
    }
}
