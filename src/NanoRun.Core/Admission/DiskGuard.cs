namespace NanoRun.Admission;

/// <summary>Free space of the data folder's file system, read at most once a second.</summary>
internal sealed class DiskGuard
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);
    private long _free;
    private long _readAt;

    public long FreeBytes(string path, TimeProvider time)
    {
        var now = time.GetTimestamp();
        var readAt = Volatile.Read(ref _readAt);
        if (readAt == 0 || time.GetElapsedTime(readAt, now) > Refresh)
        {
            // DriveInfo on Linux answers with statvfs on the given path, so any folder on the file system works.
            Volatile.Write(ref _free, new DriveInfo(path).AvailableFreeSpace);
            Volatile.Write(ref _readAt, now);
        }

        return Volatile.Read(ref _free);
    }
}
