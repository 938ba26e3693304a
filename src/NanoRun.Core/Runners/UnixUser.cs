using System.Buffers;
using System.Runtime.InteropServices;

namespace NanoRun.Runners;

/// <summary>The few user-account calls the bin runner needs to run a unit as another OS user.</summary>
internal static unsafe partial class UnixUser
{
    private const int RangeError = 34; // ERANGE: the buffer for the account's strings is too small.

    /// <summary>Whether this process runs as root and so may switch users.</summary>
    public static bool IsRoot => geteuid() == 0;

    /// <summary>Looks up a user's uid and primary gid; returns <c>false</c> when there is no such user.</summary>
    public static bool TryFind(string name, out uint uid, out uint gid)
    {
        var size = 4096;
        while (true)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                Passwd entry;
                Passwd* found;
                int error;
                fixed (byte* bytes = buffer)
                {
                    error = getpwnam_r(name, &entry, bytes, (nuint)buffer.Length, &found);
                }

                if (error == RangeError && size < 1024 * 1024)
                {
                    size *= 4;
                    continue;
                }

                if (error != 0 || found == null)
                {
                    uid = 0;
                    gid = 0;
                    return false;
                }

                uid = entry.Uid;
                gid = entry.Gid;
                return true;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Gives a folder to a user; returns <c>false</c> on failure.</summary>
    public static bool TryChown(string path, uint uid, uint gid) => chown(path, uid, gid) == 0;

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int getpwnam_r(string name, Passwd* pwd, byte* buf, nuint buflen, Passwd** result);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);

    // struct passwd, same layout in glibc and musl.
    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public nint Name;
        public nint Password;
        public uint Uid;
        public uint Gid;
        public nint Gecos;
        public nint Directory;
        public nint Shell;
    }
}
