using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using NanoRun.Requests;

namespace NanoRun.AspNetCore.Api;

/// <summary>
/// How every answer that serves stored bytes (a saved request, an attempt's result, its output stream, a UI download)
/// is framed: the bytes came from a caller or a command, so a browser must never run them as a page of this origin.
/// </summary>
/// <remarks>
/// Each such answer carries <c>Content-Security-Policy: sandbox</c> (a document of a unique origin without scripts,
/// forms or storage) and <c>X-Content-Type-Options: nosniff</c>. Of the stored headers only the ones that describe the
/// content pass (see <see cref="IsReplayed"/>); anything that would act on the reader's browser or on a proxy in front
/// of the server (cookies, refresh, policies, CORS, hop-by-hop, internal redirects) is dropped.
/// </remarks>
internal static class StoredBodyResponse
{
    /// <summary>The policy of every stored-bytes answer.</summary>
    public const string Policy = "sandbox";

    /// <summary>Sets the headers that stop a browser from running or sniffing the stored bytes.</summary>
    public static void Protect(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = Policy;
        response.Headers.XContentTypeOptions = "nosniff";
    }

    /// <summary>
    /// Whether a stored header is replayed: the content's own description (<c>Content-Type</c>, <c>-Encoding</c>,
    /// <c>-Language</c>, <c>-Disposition</c>), validators and caching (<c>ETag</c>, <c>Last-Modified</c>,
    /// <c>Cache-Control</c>), <c>Location</c> when <paramref name="allowLocation"/> (an attempt's redirect), and
    /// <c>X-…</c> headers except those a front proxy acts on (<c>X-Accel-…</c>, <c>X-Sendfile</c>,
    /// <c>X-LiteSpeed-…</c>).
    /// </summary>
    public static bool IsReplayed(string name, bool allowLocation)
    {
        if (name.StartsWith("X-", StringComparison.OrdinalIgnoreCase))
        {
            return !name.StartsWith("X-Accel-", StringComparison.OrdinalIgnoreCase)
                && !name.StartsWith("X-Sendfile", StringComparison.OrdinalIgnoreCase)
                && !name.StartsWith("X-LiteSpeed-", StringComparison.OrdinalIgnoreCase);
        }

        return name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Content-Language", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Content-Disposition", StringComparison.OrdinalIgnoreCase)
            || name.Equals("ETag", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Last-Modified", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase)
            || (allowLocation && name.Equals("Location", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Appends the replayed pairs of <paramref name="from"/> (see <see cref="IsReplayed"/>) to <paramref name="to"/>.</summary>
    public static void CopyHeaders(IReadOnlyList<KeyValuePair<string, string>> from, IHeaderDictionary to, bool allowLocation)
    {
        foreach (var pair in from)
        {
            if (!SavedHeaders.IsReserved(pair.Key) && IsReplayed(pair.Key, allowLocation))
            {
                to.Append(pair.Key, AsciiValue(pair.Value));
            }
        }
    }

    /// <summary>
    /// <paramref name="value"/> as a header value HTTP/1.1 can send: unchanged when it is printable ASCII (tab
    /// allowed), else every other character becomes the percent-encoded bytes of its UTF-8 form (<c>café</c> →
    /// <c>caf%C3%A9</c>), so a stored value that the request line accepted can always be answered.
    /// </summary>
    public static string AsciiValue(string value)
    {
        if (IsPrintableAscii(value))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in value.EnumerateRunes())
        {
            if (rune.Value == '\t' || (rune.Value >= ' ' && rune.Value < 0x7F))
            {
                builder.Append((char)rune.Value);
                continue;
            }

            var length = rune.EncodeToUtf8(utf8);
            for (var i = 0; i < length; i++)
            {
                builder.Append('%').Append(utf8[i].ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static bool IsPrintableAscii(string value)
    {
        foreach (var c in value)
        {
            if (c != '\t' && c is < ' ' or >= (char)0x7F)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Sends <paramref name="body"/> of <paramref name="length"/> bytes, or 500 when the stored body is gone.</summary>
    public static async Task SendAsync(HttpContext context, Stream? body, long length)
    {
        Protect(context.Response);
        if (body is null)
        {
            // The record points at a body that is gone: report it rather than send a silent empty body.
            context.Response.Headers.Remove("Content-Type");
            context.Response.Headers.Remove("Content-Encoding");
            await ProblemResponses.WriteAsync(context, StatusCodes.Status500InternalServerError, "the stored body is missing").ConfigureAwait(false);
            return;
        }

        await using (body.ConfigureAwait(false))
        {
            context.Response.ContentLength = length;
            if (length > 0 && !HttpMethods.IsHead(context.Request.Method))
            {
                // Stream.CopyToAsync copies through one pooled buffer.
                await body.CopyToAsync(context.Response.Body, 64 * 1024, context.RequestAborted).ConfigureAwait(false);
            }
        }
    }
}
