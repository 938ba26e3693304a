using NanoRun.Storage;

namespace NanoRun.Core.Tests.Runners;

/// <summary>A test-only blob store: every blob is a file under a temporary folder, never inline.</summary>
internal sealed class TempFolderBlobStore : IBlobStore
{
    private readonly string _root;

    public TempFolderBlobStore(string root) => _root = root;

    public async Task<BodyRef> WriteAsync(string key, Stream source, long maxLength, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        long length = 0;
        var buffer = new byte[81920];
        try
        {
            await using (var target = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1, useAsync: true))
            {
                while (true)
                {
                    var read = await source.ReadAsync(buffer, cancellationToken);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                    if (maxLength > 0 && length > maxLength)
                    {
                        throw new BodyTooLargeException(maxLength);
                    }

                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await target.FlushAsync(cancellationToken);
            }

            File.Move(temp, path, overwrite: true);
            return new BodyRef(key, null, length);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public ValueTask<Stream?> OpenReadAsync(BodyRef body, CancellationToken cancellationToken = default)
    {
        if (body.Inline is { } inline)
        {
            return ValueTask.FromResult<Stream?>(new MemoryStream(inline, writable: false));
        }

        var path = PathOf(body.Key!);
        return ValueTask.FromResult<Stream?>(File.Exists(path)
            ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true)
            : null);
    }

    public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var path = PathOf(prefix);
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>The file that holds a blob.</summary>
    public string PathOf(string key) => Path.Combine(_root, key);
}
