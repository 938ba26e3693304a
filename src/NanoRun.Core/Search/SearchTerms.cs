using NanoRun.Requests;
using NanoRun.Units;

namespace NanoRun.Search;

/// <summary>
/// What search finds a request by: each saved header value, trimmed and lower-cased, except the credential headers
/// (<see cref="CredentialHeaders"/>) and the server's reserved pairs. Bodies and the URI (which may hold a query token)
/// are never terms, so search answers no question about a secret.
/// </summary>
public static class SearchTerms
{
    /// <summary>The longest term in characters (200); a longer value is indexed and searched by its first 200 characters.</summary>
    public const int MaxLength = 200;

    /// <summary>The distinct terms of a request of <paramref name="unit"/> saved with <paramref name="headers"/>, in header order.</summary>
    /// <param name="unit">The request's unit; its authorization settings name the credential headers left out.</param>
    /// <param name="headers">The header pairs as saved.</param>
    public static IReadOnlyList<string> For(UnitDefinition unit, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        ArgumentNullException.ThrowIfNull(unit);
        ArgumentNullException.ThrowIfNull(headers);
        var terms = new List<string>(headers.Count);
        foreach (var pair in headers)
        {
            if (SavedHeaders.IsReserved(pair.Key) || CredentialHeaders.IsCredential(unit, pair.Key))
            {
                continue;
            }

            var term = Normalize(pair.Value);
            if (term.Length > 0 && !terms.Contains(term))
            {
                terms.Add(term);
            }
        }

        return terms;
    }

    /// <summary>The term a search text or header value stands for: trimmed, lower-cased (invariant) and cut to <see cref="MaxLength"/>.</summary>
    /// <param name="text">What a caller searches for, or a header value.</param>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var term = text.Trim().ToLowerInvariant();
        return term.Length > MaxLength ? term[..MaxLength] : term;
    }
}
