namespace NanoRun.Storage;

/// <summary>Where a stored body or result lives: inline bytes for small ones, a blob key for the rest.</summary>
/// <param name="Key">Blob key, or <c>null</c> when the bytes are inline.</param>
/// <param name="Inline">The whole body when small, or <c>null</c> when it lives under <paramref name="Key"/>.</param>
/// <param name="Length">Length in bytes.</param>
public sealed record BodyRef(string? Key, byte[]? Inline, long Length)
{
    /// <summary>An empty body.</summary>
    public static BodyRef Empty { get; } = new(null, [], 0);
}
