using NanoRun.Requests;

namespace NanoRun.Storage.Sqlite;

/// <summary>What the file blob store leaves on disk.</summary>
public sealed class FileBlobStoreTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly FileBlobStore _blobs;

    public FileBlobStoreTests() => _blobs = new FileBlobStore(Path.Join(_folder.Path, "blobs"));

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Write_SmallBody_TouchesNoDisk()
    {
        await _blobs.WriteAsync($"{RequestId.New()}/body", new MemoryStream(new byte[FileBlobStore.DefaultInlineThreshold]), 0);

        Assert.False(Directory.Exists(_blobs.Root));
    }

    [Fact]
    public async Task Write_LargeBody_LandsUnderShardedRequestFolderWithNoTempLeft()
    {
        var id = RequestId.New();

        await _blobs.WriteAsync($"{id}/body", new MemoryStream(new byte[FileBlobStore.DefaultInlineThreshold + 1]), 0);

        Assert.Equal([Path.Join(id[^2..], id, "body")], _folder.Files("blobs"));
    }

    [Fact]
    public async Task Write_OverMaxLength_LeavesNoFiles()
    {
        var write = () => _blobs.WriteAsync($"{RequestId.New()}/body", new TrickleStream(new byte[500_000], 10_000), 300_000);

        await Assert.ThrowsAsync<BodyTooLargeException>(write);

        Assert.Empty(Directory.GetFileSystemEntries(_folder.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Write_Cancelled_LeavesNoFiles()
    {
        using var cts = new CancellationTokenSource();
        var source = new TrickleStream(new byte[1_000_000], 64 * 1024, afterReads: 4, onRead: cts.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _blobs.WriteAsync($"{RequestId.New()}/body", source, 0, cts.Token));

        Assert.Empty(Directory.GetFileSystemEntries(_folder.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Write_SourceFails_LeavesNoFilesAndKeepsSiblings()
    {
        var id = RequestId.New();
        await _blobs.WriteAsync($"{id}/body", new MemoryStream(new byte[10_000]), 0);
        var failing = new TrickleStream(new byte[1_000_000], 64 * 1024, afterReads: 3, onRead: () => throw new IOException("client went away"));

        await Assert.ThrowsAsync<IOException>(() => _blobs.WriteAsync($"{id}/{RequestId.New()}", failing, 0));

        Assert.Equal([Path.Join(id[^2..], id, "body")], _folder.Files("blobs"));
    }

    [Fact]
    public void DirectorySync_ExistingFolder_Flushes()
    {
        var flush = () => DirectorySync.Flush(_folder.Path);

        var error = Record.Exception(flush);

        Assert.Null(error);
    }

    [Fact]
    public void DirectorySync_MissingFolder_ThrowsIOException()
    {
        var flush = () => DirectorySync.Flush(Path.Join(_folder.Path, "missing"));

        Assert.Throws<IOException>(flush);
    }

    [Theory]
    [InlineData("ab/body", true)]
    [InlineData("0123456789abcdef0123456789abcdef/0123456789abcdef0123456789abcdef", true)]
    [InlineData("ab/x.json", true)]
    [InlineData("ab/c/d", true)]
    [InlineData("a/body", false)]
    [InlineData("ab", false)]
    [InlineData("ab/x..y", false)]
    [InlineData("ab/Body", false)]
    [InlineData("ab/bo-dy", false)]
    [InlineData("ab/bo dy", false)]
    public void IsValidKey_Key_MatchesTheKeyGrammar(string key, bool valid)
    {
        var result = FileBlobStore.IsValidKey(key);

        Assert.Equal(valid, result);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("ab/c/../d")]
    [InlineData("")]
    public async Task DeletePrefix_BadPrefix_IsRejected(string prefix)
    {
        var delete = () => _blobs.DeletePrefixAsync(prefix);

        await Assert.ThrowsAsync<ArgumentException>(delete);
    }
}
