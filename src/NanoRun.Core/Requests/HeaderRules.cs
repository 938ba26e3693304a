namespace NanoRun.Requests;

/// <summary>Which headers describe a single connection or message framing and so are never copied from a stored message.</summary>
internal static class HeaderRules
{
    /// <summary>Hop-by-hop headers of RFC 9110 §7.6.1, and any named in <c>Connection</c>.</summary>
    public static bool IsHopByHop(string name, string? connection)
    {
        if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Proxy-Authenticate", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
            || name.Equals("TE", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Trailer", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (connection is null)
        {
            return false;
        }

        foreach (var range in connection.AsSpan().Split(','))
        {
            if (connection.AsSpan(range).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Hop-by-hop headers plus those that describe one message's framing or target (<c>Content-Length</c>,
    /// <c>Host</c>, <c>Expect</c>): never replayed from a stored request or attempt.</summary>
    public static bool IsFraming(string name) =>
        IsHopByHop(name, null)
        || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Host", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Expect", StringComparison.OrdinalIgnoreCase);
}
