using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace NanoRun.Server;

/// <summary>Kestrel limits that keep slow, oversized or abandoned connections from holding the server's sockets and memory.</summary>
/// <remarks>
/// Bodies are not limited here: each unit's <c>max_request</c> governs, enforced while the body streams to disk.
/// See docs/reliability.md for the faults these values were tested against.
/// </remarks>
internal static class ConnectionLimits
{
    /// <summary>A body slower than this after the grace period is cut (408) and its partial file removed.</summary>
    public const double MinBodyBytesPerSecond = 240;

    /// <summary>How long a body may stay below <see cref="MinBodyBytesPerSecond"/> before it is cut; covers a slow start.</summary>
    public static readonly TimeSpan BodyGracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>All request headers must arrive within this time, or the connection is closed (slowloris).</summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(15);

    /// <summary>More header fields than this are answered 431.</summary>
    public const int MaxRequestHeaderCount = 100;

    /// <summary>Header blocks larger than this (32 KiB) are answered 431.</summary>
    public const int MaxRequestHeadersTotalSize = 32 * 1024;

    /// <summary>A request line (method, target, version) longer than this (8 KiB) is answered 414.</summary>
    public const int MaxRequestLineSize = 8 * 1024;

    /// <summary>Idle keep-alive connections are closed after this.</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// How much of a request Kestrel and its socket transport read ahead of the application per connection (64 KiB;
    /// both default to 1 MiB).
    /// </summary>
    /// <remarks>
    /// A body is written to disk as it arrives, so read-ahead only buys memory: ten 100 MiB uploads at once filled
    /// 10.8 MB of pinned transport buffers, kept by the pool afterwards. It must still hold a full header block and
    /// request line.
    /// </remarks>
    public const int MaxRequestBufferSize = 64 * 1024;

    public static void Apply(KestrelServerLimits limits)
    {
        limits.MaxRequestBufferSize = MaxRequestBufferSize;
        limits.MinRequestBodyDataRate = new MinDataRate(MinBodyBytesPerSecond, BodyGracePeriod);
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
        limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalSize;
        limits.MaxRequestLineSize = MaxRequestLineSize;
        limits.KeepAliveTimeout = KeepAliveTimeout;
    }
}
