using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>
/// Hides the credentials a stored request carried (and the server's reserved pairs) before a page or an API answer
/// shows it to anyone, and keeps the query token out of the stored URI.
/// </summary>
internal static class CredentialRedaction
{
    /// <summary>What a page shows instead of a credential.</summary>
    public const string Hidden = "(hidden)";

    /// <summary>The record with credential headers and the query token replaced by <see cref="Hidden"/> and reserved pairs left out.</summary>
    public static RequestRecord Redact(UnitDefinition unit, RequestRecord record)
    {
        var headers = new List<KeyValuePair<string, string>>(record.Headers.Count);
        foreach (var pair in record.Headers)
        {
            if (SavedHeaders.IsReserved(pair.Key))
            {
                continue;
            }

            headers.Add(CredentialHeaders.IsCredential(unit, pair.Key) ? new(pair.Key, Hidden) : pair);
        }

        return record with { Headers = headers, Uri = RedactQuery(record.Uri, unit.Authorization.QueryToken?.Name) };
    }

    /// <summary>
    /// <paramref name="uri"/> without the unit's query token parameter, so the stored request never holds it; the other
    /// parameters stay as sent, in order.
    /// </summary>
    public static string WithoutQueryToken(UnitDefinition unit, string uri)
    {
        var parameter = unit.Authorization.QueryToken?.Name;
        var question = uri.IndexOf('?', StringComparison.Ordinal);
        if (parameter is null || question < 0)
        {
            return uri;
        }

        var kept = uri[(question + 1)..].Split('&').Where(part => !IsParameter(part, parameter)).ToArray();
        return kept.Length == 0 ? uri[..question] : uri[..(question + 1)] + string.Join('&', kept);
    }

    /// <summary>Replaces the value of every <paramref name="parameter"/> in the URI's query string.</summary>
    private static string RedactQuery(string uri, string? parameter)
    {
        var question = uri.IndexOf('?', StringComparison.Ordinal);
        if (parameter is null || question < 0)
        {
            return uri;
        }

        var parts = uri[(question + 1)..].Split('&');
        for (var i = 0; i < parts.Length; i++)
        {
            if (IsParameter(parts[i], parameter))
            {
                var equals = parts[i].IndexOf('=', StringComparison.Ordinal);
                parts[i] = parts[i][..(equals < 0 ? parts[i].Length : equals)] + "=" + Hidden;
            }
        }

        return uri[..(question + 1)] + string.Join('&', parts);
    }

    /// <summary>Whether a <c>name=value</c> part of a query string names <paramref name="parameter"/> the way the query token check reads it (decoded, any case).</summary>
    private static bool IsParameter(string part, string parameter)
    {
        var equals = part.IndexOf('=', StringComparison.Ordinal);
        var name = System.Net.WebUtility.UrlDecode(equals < 0 ? part : part[..equals]);
        return name.Equals(parameter, StringComparison.OrdinalIgnoreCase);
    }
}
