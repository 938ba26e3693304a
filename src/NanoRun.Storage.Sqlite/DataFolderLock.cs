namespace NanoRun.Storage.Sqlite;

/// <summary>An exclusive lock on <c>{data}/nano-run.lock</c>, held while a store is open so two processes never share one
/// embedded store.</summary>
/// <remarks>
/// <see cref="FileShare.None"/> takes an advisory <c>flock(LOCK_EX)</c> on Unix and a sharing lock on Windows. The lock is
/// per open file description, so a second store in the same process is refused too, and the kernel drops it when the
/// process dies, so a crash never leaves a stale lock.
/// </remarks>
internal sealed class DataFolderLock : IDisposable
{
    public const string FileName = "nano-run.lock";

    private readonly FileStream _file;

    private DataFolderLock(FileStream file) => _file = file;

    public static DataFolderLock Acquire(string dataDirectory)
    {
        var path = Path.Join(dataDirectory, FileName);
        try
        {
            return new DataFolderLock(new FileStream(path, PrivateFiles.Private(new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None })));
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException))
        {
            throw new IOException($"data folder {dataDirectory} is in use by another nano-run process", e);
        }
    }

    public void Dispose() => _file.Dispose();
}
