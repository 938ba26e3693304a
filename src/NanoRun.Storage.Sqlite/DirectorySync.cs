using System.Runtime.InteropServices;

namespace NanoRun.Storage.Sqlite;

/// <summary>Flushes a directory's entries (creations, renames) to disk with <c>fsync</c> on the directory itself.</summary>
/// <remarks>.NET cannot open a directory as a file handle, so this calls libc directly; it is AOT-safe.</remarks>
internal static partial class DirectorySync
{
    private const int ORdOnly = 0;
    private const int OCloExecLinux = 0x80000;
    private const int OCloExecMac = 0x1000000;
    private const int EIntr = 4;
    private const int EBadF = 9;
    private const int EInval = 22;

    /// <summary>Makes every entry of <paramref name="directory"/> durable; a no-op on Windows, where NTFS journals metadata.</summary>
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // O_CLOEXEC: processes started by runners must not inherit the descriptor.
        var flags = ORdOnly | (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? OCloExecMac : OCloExecLinux);
        var fd = Open(directory, flags);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to flush it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            int result;
            do
            {
                result = FSync(fd);
            }
            while (result < 0 && Marshal.GetLastPInvokeError() == EIntr);

            // Like PostgreSQL's fsync_fname: some file systems cannot flush directories at all (EBADF, EINVAL);
            // there is nothing more to do on those.
            if (result < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is not (EBadF or EInval))
                {
                    throw new IOException($"cannot flush directory {directory} (errno {errno})");
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
