using System.Diagnostics.CodeAnalysis;

namespace NanoRun.Storage;

/// <summary>The grammar of blob keys shared by every provider, strict so that a key can never name anything outside its store.</summary>
internal static class BlobKeys
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
