using System.Runtime.InteropServices;

namespace NanoRun.Storage;

/// <summary>
/// Keeps the data folder private to the server's user: folders <c>0700</c>, files <c>0600</c>. Stored bodies,
/// results and the headers in the database carry callers' data and credentials, and other local users, including
/// the commands of units that run as another <c>user</c>, must not read them.
/// </summary>
/// <remarks>
/// A provider that keeps files (the embedded store) creates its folders and files through <see cref="CreateFolder"/>,
/// <see cref="CreateFile"/> and <see cref="Private"/>. The server calls <c>Restrict</c> once at start, which sets the process umask to <c>077</c>; the store
/// also creates its folders and files with these modes, so they hold when it is embedded in a host that keeps its
/// own umask. Units' commands still start with the umask the server started with.
/// </remarks>
public static partial class PrivateFiles
{
    /// <summary>Mode of the data folder and every folder under it.</summary>
    public const UnixFileMode PrivateFolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Mode of every file in the data folder.</summary>
    public const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const int PrivateMask = 0x3f; // 077

    private static readonly Lock Gate = new();
    private static int _startMask = -1;

    /// <summary>The umask the process had before <c>Restrict</c>, or <c>null</c> when it was not called.</summary>
    internal static int? StartMask => Volatile.Read(ref _startMask) is var mask and >= 0 ? mask : null;

    /// <summary>Sets the process umask to <c>077</c>, remembering the one it replaces for child processes; later calls do nothing.</summary>
    public static void Restrict()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        lock (Gate)
        {
            if (_startMask >= 0)
            {
                return;
            }

            Volatile.Write(ref _startMask, umask(PrivateMask));
        }
    }

    /// <summary>Creates <paramref name="path"/> and missing parents as <c>0700</c>; an existing folder keeps its mode.</summary>
    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, PrivateFolderMode);
        }
    }

    /// <summary>Makes files that <paramref name="options"/> creates <c>0600</c> (on Unix) and returns it.</summary>
    public static FileStreamOptions Private(FileStreamOptions options)
    {
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFileMode;
        }

        return options;
    }

    /// <summary>Creates an empty <c>0600</c> file at <paramref name="path"/> unless something already exists there.</summary>
    public static void CreateFile(string path)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }

        try
        {
            using var file = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = PrivateFileMode });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Created meanwhile by someone else: it keeps its mode.
        }
    }

    /// <summary>
    /// Gives a child process started inside the returned scope the umask the server started with; the scope holds
    /// a lock, so only spawning belongs inside it. Files this process creates meanwhile still get <c>0600</c>
    /// where the store asks for it explicitly.
    /// </summary>
    internal static ChildMask ForChild()
    {
        var start = Volatile.Read(ref _startMask);
        if (start < 0)
        {
            return default;
        }

        Gate.Enter();
        _ = umask(start);
        return new ChildMask(true);
    }

    /// <summary>While alive, the process umask is the start one; disposing restores <c>077</c>.</summary>
    internal readonly struct ChildMask : IDisposable
    {
        private readonly bool _held;

        internal ChildMask(bool held) => _held = held;

        public void Dispose()
        {
            if (_held)
            {
                _ = umask(PrivateMask);
                Gate.Exit();
            }
        }
    }

    [LibraryImport("libc")]
    private static partial int umask(int mask);
}
