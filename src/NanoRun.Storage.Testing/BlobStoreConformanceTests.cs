using System.Text;
using NanoRun.Requests;
using Xunit;

namespace NanoRun.Storage.Testing;

/// <summary>The <see cref="IBlobStore"/> contract: inline and keyed bodies, the length limit, cancellation during the copy,
/// key validation and prefix deletion.</summary>
/// <typeparam name="TWorld">The provider's world.</typeparam>
public abstract class BlobStoreConformanceTests<TWorld> : StoreConformanceTests<TWorld>
    where TWorld : StoreWorld, new()
{

    /// <summary>Blob Write: small body, is inline.</summary>
    [Fact]
    public async Task BlobWrite_SmallBody_IsInline()
    {
        var key = $"{RequestId.New(Time)}/body";

        var body = await Blobs.WriteAsync(key, new MemoryStream(Encoding.UTF8.GetBytes("hello")), 0);

        Assert.Null(body.Key);
        Assert.Equal(5, body.Length);
        Assert.Equal("hello", await ReadAllTextAsync(body));
    }

    /// <summary>Blob Write: empty body, is empty.</summary>
    [Fact]
    public async Task BlobWrite_EmptyBody_IsEmpty()
    {
        var body = await Blobs.WriteAsync($"{RequestId.New(Time)}/body", new MemoryStream(), 10);

        Assert.Equal(0, body.Length);
        Assert.Equal("", await ReadAllTextAsync(body));
    }

    /// <summary>Blob Write: large body, is stored under key and reads back.</summary>
    [Fact]
    public async Task BlobWrite_LargeBody_IsStoredUnderKeyAndReadsBack()
    {
        var key = $"{RequestId.New(Time)}/{RequestId.New(Time)}";
        var data = RandomBytes(300_000);

        var body = await Blobs.WriteAsync(key, new TrickleStream(data, 7_000), 1_000_000);

        Assert.Equal(key, body.Key);
        Assert.Null(body.Inline);
        Assert.Equal(data.Length, body.Length);
        Assert.Equal(data, await ReadAllBytesAsync(body));
    }

    /// <summary>Blob Write: over max length, throws.</summary>
    [Fact]
    public async Task BlobWrite_OverMaxLength_Throws()
    {
        var key = $"{RequestId.New(Time)}/body";

        var large = await Assert.ThrowsAsync<BodyTooLargeException>(() => Blobs.WriteAsync(key, new MemoryStream(RandomBytes(200_000)), 100_000));
        var small = await Assert.ThrowsAsync<BodyTooLargeException>(() => Blobs.WriteAsync(key, new MemoryStream(RandomBytes(20)), 10));

        Assert.Equal(100_000, large.Limit);
        Assert.Equal(10, small.Limit);
    }

    /// <summary>Blob Write: exactly max length, is accepted.</summary>
    [Fact]
    public async Task BlobWrite_ExactlyMaxLength_IsAccepted()
    {
        var body = await Blobs.WriteAsync($"{RequestId.New(Time)}/body", new MemoryStream(RandomBytes(100_000)), 100_000);

        Assert.Equal(100_000, body.Length);
    }

    /// <summary>Blob Write: cancelled, throws operation canceled.</summary>
    [Fact]
    public async Task BlobWrite_Cancelled_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        var source = new TrickleStream(RandomBytes(1_000_000), 64 * 1024, afterReads: 3, onRead: cts.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Blobs.WriteAsync($"{RequestId.New(Time)}/body", source, 0, cts.Token));
    }

    /// <summary>Blob Write: bad key, is rejected.</summary>
    [Theory]
    [InlineData("../x")]
    [InlineData("/abs")]
    [InlineData("/abs/body")]
    [InlineData("A/B")]
    [InlineData("ab/../../etc")]
    [InlineData("ab/.hidden")]
    [InlineData("ab//body")]
    [InlineData("ab/body/")]
    [InlineData("ab\\body")]
    [InlineData("nobody")]
    [InlineData("")]
    public async Task BlobWrite_BadKey_IsRejected(string key)
    {
        var write = () => Blobs.WriteAsync(key, new MemoryStream(RandomBytes(10_000)), 0);

        await Assert.ThrowsAsync<ArgumentException>(write);
    }

    /// <summary>Blob Delete Prefix: request, removes its blobs only.</summary>
    [Fact]
    public async Task BlobDeletePrefix_Request_RemovesItsBlobsOnly()
    {
        var id = RequestId.New(Time);
        var other = RequestId.New(Time);
        var body = await Blobs.WriteAsync($"{id}/body", new MemoryStream(RandomBytes(10_000)), 0);
        var result = await Blobs.WriteAsync($"{id}/{RequestId.New(Time)}", new MemoryStream(RandomBytes(10_000)), 0);
        var kept = await Blobs.WriteAsync($"{other}/body", new MemoryStream(RandomBytes(10_000)), 0);

        await Blobs.DeletePrefixAsync(id);
        await Blobs.DeletePrefixAsync(RequestId.New(Time));

        Assert.Null(await Blobs.OpenReadAsync(body));
        Assert.Null(await Blobs.OpenReadAsync(result));
        await using var stream = await Blobs.OpenReadAsync(kept);
        Assert.NotNull(stream);
    }

    /// <summary>Blob delete prefix: anything but a request id, is rejected and deletes nothing.</summary>
    [Theory]
    [InlineData("ab/body")]
    [InlineData("a")]
    [InlineData("../x")]
    [InlineData("")]
    [InlineData("AB")]
    public async Task BlobDeletePrefix_NotARequestId_IsRejected(string prefix)
    {
        var kept = await Blobs.WriteAsync("ab/body", new MemoryStream(RandomBytes(10_000)), 0);

        var delete = () => Blobs.DeletePrefixAsync(prefix);

        await Assert.ThrowsAsync<ArgumentException>(delete);
        await using var stream = await Blobs.OpenReadAsync(kept);
        Assert.NotNull(stream);
    }

    /// <summary>Blob Open Read: missing key, returns null.</summary>
    [Fact]
    public async Task BlobOpenRead_MissingKey_ReturnsNull()
    {
        var stream = await Blobs.OpenReadAsync(new BodyRef($"{RequestId.New(Time)}/body", null, 10));

        Assert.Null(stream);
    }
}
