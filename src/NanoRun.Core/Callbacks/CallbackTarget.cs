using NanoRun.Units;

namespace NanoRun.Callbacks;

/// <summary>Where a request's completion callback goes: its own <c>X-Callback-Url</c> when the unit allows one, else the unit's URL.</summary>
internal static class CallbackTarget
{
    /// <summary>The request header that names a callback URL for one request.</summary>
    public const string Header = "X-Callback-Url";

    /// <summary>Returns the callback URL of a request with these saved headers, or <c>null</c> when it has none.</summary>
    public static Uri? For(UnitDefinition unit, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (unit.AllowCallbackUrl)
        {
            foreach (var pair in headers)
            {
                if (string.Equals(pair.Key, Header, StringComparison.OrdinalIgnoreCase) && UnitLoader.ParseCallbackUrl(pair.Value.Trim()) is { } own)
                {
                    return own;
                }
            }
        }

        return unit.Callback?.Url;
    }
}
