using System.Buffers;
using System.Text;
using NanoRun.Requests;
using NanoRun.Storage;

namespace NanoRun.AspNetCore.Ui;

/// <summary>What a page shows of a stored body: a bounded text preview, or nothing when it is binary or gone.</summary>
/// <param name="Length">The whole body's length in bytes.</param>
/// <param name="Text">The preview text, or <c>null</c> when the body is empty, binary or missing.</param>
/// <param name="Truncated">Whether <paramref name="Text"/> is only the start of the body.</param>
/// <param name="Missing">Whether the stored body is gone.</param>
internal sealed record BodyPreview(long Length, string? Text, bool Truncated, bool Missing)
{
    /// <summary>Most bytes read for a preview; larger bodies are offered whole only as a download.</summary>
    public const int Limit = 64 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Whether the body is neither empty nor missing nor text: offered as a download only.</summary>
    public bool IsBinary => Text is null && Length > 0 && !Missing;

    /// <summary>Reads at most <see cref="Limit"/> bytes of <paramref name="body"/> and keeps them as text when they are UTF-8 without control bytes.</summary>
    public static async Task<BodyPreview> ReadAsync(INanoRunRequests requests, BodyRef body, string? contentType, CancellationToken cancellationToken)
    {
        if (body.Length == 0)
        {
            return new BodyPreview(0, null, false, false);
        }

        if (!MayBeText(contentType))
        {
            return new BodyPreview(body.Length, null, false, false);
        }

        var stream = await requests.OpenBodyAsync(body, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return new BodyPreview(body.Length, null, false, true);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Limit);
        try
        {
            var read = 0;
            await using (stream.ConfigureAwait(false))
            {
                while (read < Limit)
                {
                    var n = await stream.ReadAsync(buffer.AsMemory(read, Limit - read), cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }
            }

            var truncated = read < body.Length;
            var text = Decode(buffer.AsSpan(0, read), truncated);
            return new BodyPreview(body.Length, text, text is not null && truncated, false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A header's value, the first of that name, or <c>null</c>.</summary>
    public static string? Header(IReadOnlyList<KeyValuePair<string, string>> headers, string name)
    {
        foreach (var pair in headers)
        {
            if (pair.Key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return pair.Value;
            }
        }

        return null;
    }

    /// <summary>Whether a declared media type may hold text; no declaration leaves it to the bytes.</summary>
    private static bool MayBeText(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return true;
        }

        var type = contentType.AsSpan().Trim();
        var semicolon = type.IndexOf(';');
        if (semicolon >= 0)
        {
            type = type[..semicolon].TrimEnd();
        }

        return type.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("json", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("xml", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("yaml", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("javascript", StringComparison.OrdinalIgnoreCase)
            || type.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
            || type.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Decodes strict UTF-8; a sequence cut by the preview limit is dropped. Returns <c>null</c> for binary bytes.</summary>
    private static string? Decode(ReadOnlySpan<byte> bytes, bool truncated)
    {
        foreach (var b in bytes)
        {
            // Control bytes other than tab, line feed, form feed and carriage return mark binary content.
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\f' or (byte)'\r') || b == 0x7f)
            {
                return null;
            }
        }

        var decoder = StrictUtf8.GetDecoder();
        var chars = ArrayPool<char>.Shared.Rent(bytes.Length);
        try
        {
            var count = decoder.GetChars(bytes, chars, flush: !truncated);
            return new string(chars, 0, count);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }
}
