using NanoRun.Units;

namespace NanoRun.Requests;

/// <summary>
/// The saved headers that carry credentials: <c>Authorization</c>, <c>Proxy-Authorization</c>, <c>Cookie</c> and the
/// unit's own token, JWT and HMAC signature headers. Pages and API answers hide their values, and search never indexes them.
/// </summary>
public static class CredentialHeaders
{
    /// <summary>Whether the header <paramref name="name"/> (any case) carries a credential for <paramref name="unit"/>.</summary>
    /// <param name="unit">The unit whose authorization settings name its credential headers.</param>
    /// <param name="name">A saved header name.</param>
    public static bool IsCredential(UnitDefinition unit, string name)
    {
        ArgumentNullException.ThrowIfNull(unit);
        ArgumentNullException.ThrowIfNull(name);
        var authorization = unit.Authorization;
        return name.Equals("Authorization", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
            || (authorization.Jwt is { } jwt && name.Equals(jwt.Header, StringComparison.OrdinalIgnoreCase))
            || (authorization.HeaderToken is { } token && name.Equals(token.Name, StringComparison.OrdinalIgnoreCase))
            || (authorization.Hmac is { } hmac && name.Equals(hmac.Header, StringComparison.OrdinalIgnoreCase));
    }
}
