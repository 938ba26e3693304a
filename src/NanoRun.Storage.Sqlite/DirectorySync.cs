using System.Runtime.InteropServices;
using System.Text;

namespace NanoRun.Storage.Sqlite;

/// <summary>Flushes a directory's entries (creations, renames) to disk with <c>fsync</c> on the directory itself.</summary>
/// <remarks>
/// .NET cannot open a directory as a file handle, so this calls libc's <c>open</c>, <c>fsync</c> and <c>close</c> through
/// function pointers looked up in the process's own symbol scope. That works with glibc and musl, under the JIT and Native
/// AOT alike, where a <c>DllImport("libc")</c> depends on how the runtime maps that name. No reflection; AOT-safe.
/// </remarks>
internal static unsafe class DirectorySync
{
    private const int ORdOnly = 0;
    private const int OCloExecLinux = 0x80000;
    private const int OCloExecBsd = 0x1000000;
    private const int EIntr = 4;
    private const int EBadF = 9;
    private const int EInval = 22;

    private static readonly delegate* unmanaged<byte*, int, int> Open;
    private static readonly delegate* unmanaged<int, int> FSync;
    private static readonly delegate* unmanaged<int, int> Close;

#pragma warning disable CA1810 // The lookups depend on the platform check; a static constructor keeps them together.
    static DirectorySync()
#pragma warning restore CA1810
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var self = NativeLibrary.GetMainProgramHandle();
        Open = (delegate* unmanaged<byte*, int, int>)NativeLibrary.GetExport(self, "open");
        FSync = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(self, "fsync");
        Close = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(self, "close");
    }

    /// <summary>Makes every entry of <paramref name="directory"/> durable; a no-op on Windows, where NTFS journals metadata.</summary>
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // O_CLOEXEC: processes started by runners must not inherit the descriptor.
        var flags = ORdOnly | (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? OCloExecBsd : OCloExecLinux);
        var path = new byte[Encoding.UTF8.GetByteCount(directory) + 1];
        Encoding.UTF8.GetBytes(directory, path);

        int fd;
        int errno;
        fixed (byte* p = path)
        {
            do
            {
                Marshal.SetLastSystemError(0);
                fd = Open(p, flags);
                errno = Marshal.GetLastSystemError();
            }
            while (fd < 0 && errno == EIntr);
        }

        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to flush it (errno {errno})");
        }

        try
        {
            int result;
            do
            {
                Marshal.SetLastSystemError(0);
                result = FSync(fd);
                errno = Marshal.GetLastSystemError();
            }
            while (result < 0 && errno == EIntr);

            // Like PostgreSQL's fsync_fname: some file systems cannot flush directories at all (EBADF, EINVAL);
            // there is nothing more to do on those.
            if (result < 0 && errno is not (EBadF or EInval))
            {
                throw new IOException($"cannot flush directory {directory} (errno {errno})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }
}
