using System.Data.Common;
using System.Net.Sockets;

namespace NanoRun.Storage;

/// <summary>
/// Tells an outage of the store (a database restarting or unreachable, a disk remounted read-only) apart from a bug, so
/// that the engine and the web layer answer "try again later" (HTTP 503 with <c>Retry-After</c>) instead of an error.
/// </summary>
public static class StoreFaults
{
    /// <summary>How long a caller is asked to wait before sending again while the store is away: 5 seconds.</summary>
    public static TimeSpan RetryAfter { get; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether <paramref name="exception"/>, or one it wraps, means the store cannot be reached or written now: a database
    /// provider's error (<see cref="DbException"/>), a socket error or time-out, or a file system that is read-only
    /// (<c>EROFS</c>) or failing (<c>EIO</c>).
    /// </summary>
    /// <param name="exception">What a store call threw.</param>
    public static bool IsUnavailable(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException or SocketException or TimeoutException || (e is IOException && (e.HResult & 0xFFFF) is ReadOnlyFileSystem or InputOutputError))
            {
                return true;
            }
        }

        return false;
    }

    // Linux errno values: a file system remounted read-only, and a device that fails reads or writes.
    private const int ReadOnlyFileSystem = 30;
    private const int InputOutputError = 5;
}
