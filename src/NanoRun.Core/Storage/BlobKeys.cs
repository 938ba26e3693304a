using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace NanoRun.Storage;

/// <summary>The grammar of blob keys shared by every provider, strict so that a key can never name anything outside its store.</summary>
/// <remarks>The engine writes a request's body under <c>{requestId}/body</c> and each attempt's result under
/// <c>{requestId}/{attemptId}</c>, and deletes them with the prefix <c>{requestId}</c>. A provider checks every key and
/// prefix with <see cref="ThrowIfInvalidKey"/> and <see cref="ThrowIfInvalidPrefix"/> before it touches storage.</remarks>
public static class BlobKeys
{
    /// <summary>Longest accepted key.</summary>
    public const int MaxLength = 200;

    /// <summary>Whether <paramref name="key"/> is a valid key: segments of <c>[a-z0-9.]</c> joined by <c>/</c>, at least two,
    /// none empty or starting with <c>.</c>, no <c>..</c> anywhere, the first at least two characters long.</summary>
    public static bool IsValidKey([NotNullWhen(true)] string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxLength || key.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        var segments = 0;
        var start = 0;
        for (var i = 0; i <= key.Length; i++)
        {
            if (i < key.Length && key[i] != '/')
            {
                continue;
            }

            if (!IsValidSegment(key, start, i - start) || (segments == 0 && i - start < 2))
            {
                return false;
            }

            segments++;
            start = i + 1;
        }

        return segments >= 2;
    }

    /// <summary>Whether <paramref name="prefix"/> can name a request's blobs: one segment of at least two characters.</summary>
    public static bool IsValidPrefix([NotNullWhen(true)] string? prefix) => prefix is { Length: >= 2 } && IsValidSegment(prefix, 0, prefix.Length);

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is valid (<see cref="IsValidKey"/>).</summary>
    /// <exception cref="ArgumentException">The key is not valid.</exception>
    public static void ThrowIfInvalidKey([NotNull] string? key, [CallerArgumentExpression(nameof(key))] string? paramName = null)
    {
        if (!IsValidKey(key))
        {
            throw new ArgumentException($"'{key}' is not a valid blob key", paramName);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="prefix"/> is valid (<see cref="IsValidPrefix"/>).</summary>
    /// <exception cref="ArgumentException">The prefix is not a request id.</exception>
    public static void ThrowIfInvalidPrefix([NotNull] string? prefix, [CallerArgumentExpression(nameof(prefix))] string? paramName = null)
    {
        if (!IsValidPrefix(prefix))
        {
            throw new ArgumentException($"'{prefix}' is not a valid blob prefix: a request id is expected", paramName);
        }
    }

    private static bool IsValidSegment(string text, int start, int length)
    {
        if (length == 0 || text[start] == '.')
        {
            return false;
        }

        for (var i = start; i < start + length; i++)
        {
            var c = text[i];
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c != '.')
            {
                return false;
            }
        }

        return true;
    }
}
