using NanoRun.Units;

namespace NanoRun.Callbacks;

/// <summary>Where a request's completion callback goes: its own <c>X-Callback-Url</c> when the unit allows one, else the unit's URL.</summary>
internal static class CallbackTarget
{
    /// <summary>The request header that names a callback URL for one request.</summary>
    public const string Header = CallbackSettings.UrlHeader;

    /// <summary>Returns the callback URL of a request with these saved headers, or <c>null</c> when it has none.</summary>
    public static Uri? For(UnitDefinition unit, IReadOnlyList<KeyValuePair<string, string>> headers) => For(unit, headers, out _);

    /// <summary>Like <see cref="For(UnitDefinition, IReadOnlyList{KeyValuePair{string, string}})"/>; <paramref name="fromCaller"/> tells whether the caller chose the URL (<c>X-Callback-Url</c>) rather than the unit.</summary>
    public static Uri? For(UnitDefinition unit, IReadOnlyList<KeyValuePair<string, string>> headers, out bool fromCaller)
    {
        fromCaller = false;
        if (unit.AllowCallbackUrl)
        {
            foreach (var pair in headers)
            {
                if (string.Equals(pair.Key, Header, StringComparison.OrdinalIgnoreCase) && UnitLoader.ParseCallbackUrl(pair.Value.Trim()) is { } own)
                {
                    fromCaller = true;
                    return own;
                }
            }
        }

        return unit.Callback?.Url;
    }
}
