namespace NanoRun.Queue;

/// <summary>Settings of the engine's background processing.</summary>
public sealed class EngineOptions
{
    /// <summary>This node's id, the owner of its leases; default a new random id per process.</summary>
    public string NodeId { get; set; } = Requests.RequestId.New();

    /// <summary>The name this node is listed under among the store's nodes; default the machine's host name.</summary>
    public string NodeName { get; set; } = Environment.MachineName;

    /// <summary>How long a claim is held without renewal; default 30 seconds.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest an idle unit waits before asking the store again; default 1 second.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A folder on the file system the store writes to; with <see cref="MinFreeDisk"/> it guards free space. Default none.</summary>
    public string? DiskGuardPath { get; set; }

    /// <summary>Free bytes <see cref="DiskGuardPath"/> must keep, or new requests are refused; default 0 (off).</summary>
    public long MinFreeDisk { get; set; }

    /// <summary>
    /// Longest the store may take to look up, count and save one new request before admission answers that the store is
    /// unavailable (HTTP 503 with <c>Retry-After</c>); default 5 seconds. The copy of the body itself is not limited.
    /// </summary>
    public TimeSpan AdmissionStoreTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long running attempts may finish after shutdown starts; default 5 seconds.</summary>
    public TimeSpan GracefulShutdown { get; set; } = TimeSpan.FromSeconds(5);
}
