namespace NanoRun.Requests;

/// <summary>
/// Connection facts saved among a request's header pairs under reserved names, so they need no store column.
/// </summary>
/// <remarks>
/// A reserved name starts with <c>:</c>, like an HTTP/2 pseudo-header. <c>:</c> is not a token character
/// (RFC 9110 §5.1), so no client can send a header of that name: it cannot be spoofed, and it never collides
/// with a real header. Runners receive the headers without these pairs (see <see cref="Split"/>), and whatever
/// shows saved headers to a user (record JSON, the saved request, the UI) skips <see cref="IsReserved"/> names.
/// </remarks>
public static class SavedHeaders
{
    /// <summary>The client's IP address as the server saw it at enqueue.</summary>
    public const string RemoteAddress = ":remote-addr";

    /// <summary>Whether a saved header name is a reserved connection fact rather than a header the client sent.</summary>
    public static bool IsReserved(string name) => name.Length > 0 && name[0] == ':';

    /// <summary>Returns <paramref name="headers"/> with the remote address appended, or unchanged when it is unknown.</summary>
    internal static IReadOnlyList<KeyValuePair<string, string>> WithRemoteAddress(IReadOnlyList<KeyValuePair<string, string>> headers, string? remoteAddress)
    {
        if (string.IsNullOrEmpty(remoteAddress))
        {
            return headers;
        }

        var all = new List<KeyValuePair<string, string>>(headers.Count + 1);
        for (var i = 0; i < headers.Count; i++)
        {
            if (!IsReserved(headers[i].Key))
            {
                all.Add(headers[i]);
            }
        }

        all.Add(new(RemoteAddress, remoteAddress));
        return all;
    }

    /// <summary>Splits saved pairs into the client's headers and the remote address (<c>null</c> when none was saved).</summary>
    internal static IReadOnlyList<KeyValuePair<string, string>> Split(IReadOnlyList<KeyValuePair<string, string>> saved, out string? remoteAddress)
    {
        remoteAddress = null;
        var reserved = 0;
        for (var i = 0; i < saved.Count; i++)
        {
            if (IsReserved(saved[i].Key))
            {
                reserved++;
                if (string.Equals(saved[i].Key, RemoteAddress, StringComparison.Ordinal))
                {
                    remoteAddress = saved[i].Value;
                }
            }
        }

        if (reserved == 0)
        {
            return saved;
        }

        var headers = new List<KeyValuePair<string, string>>(saved.Count - reserved);
        for (var i = 0; i < saved.Count; i++)
        {
            if (!IsReserved(saved[i].Key))
            {
                headers.Add(saved[i]);
            }
        }

        return headers;
    }
}
