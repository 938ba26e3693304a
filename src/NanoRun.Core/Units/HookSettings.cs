namespace NanoRun.Units;

/// <summary>Hash function of an HMAC signature.</summary>
public enum HmacAlgorithm
{
    /// <summary>HMAC-SHA1 (GitHub's legacy <c>X-Hub-Signature</c>).</summary>
    Sha1,

    /// <summary>HMAC-SHA256, the default.</summary>
    Sha256,

    /// <summary>HMAC-SHA512.</summary>
    Sha512,
}

/// <summary>How a signature header is laid out.</summary>
public enum HmacFormat
{
    /// <summary>The header holds an optional prefix and the signature of the raw body (GitHub, Gitea); the default.</summary>
    Plain,

    /// <summary>
    /// The header holds <c>t=UNIX_SECONDS,v1=SIGNATURE</c>, signed over <c>t + "." + body</c> (Stripe); a signed time
    /// further than <see cref="HmacAuthorization.Tolerance"/> from now is refused, so an old signed body cannot be replayed.
    /// </summary>
    Timestamped,
}

/// <summary>Authorization by an HMAC signature of the raw request body, checked while the body streams to storage.</summary>
public sealed class HmacAuthorization
{
    /// <summary>Header that carries the signature; default <c>X-Hub-Signature-256</c>.</summary>
    public string Header { get; init; } = "X-Hub-Signature-256";

    /// <summary>Hash function; default <see cref="HmacAlgorithm.Sha256"/>.</summary>
    public HmacAlgorithm Algorithm { get; init; } = HmacAlgorithm.Sha256;

    /// <summary>The shared secret.</summary>
    public required string Secret { get; init; }

    /// <summary>Text before the signature in the header, such as <c>sha256=</c>; default none.</summary>
    public string Prefix { get; init; } = string.Empty;

    /// <summary>Whether the signature is base64 rather than hex; default <c>false</c> (hex).</summary>
    public bool Base64 { get; init; }

    /// <summary>Header layout; default <see cref="HmacFormat.Plain"/>.</summary>
    public HmacFormat Format { get; init; } = HmacFormat.Plain;

    /// <summary>With <see cref="HmacFormat.Timestamped"/>: how far the signed time may be from now; default 5 minutes.</summary>
    public TimeSpan Tolerance { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>Which final outcomes a callback is sent for.</summary>
[Flags]
public enum CallbackOutcomes
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>The request succeeded.</summary>
    Success = 1,

    /// <summary>Every allowed attempt failed.</summary>
    Failure = 2,

    /// <summary>The request was cancelled.</summary>
    Cancelled = 4,
}

/// <summary>A completion callback: the final attempt is posted to <see cref="Url"/> once the request is final.</summary>
public sealed class CallbackSettings
{
    /// <summary>
    /// The name of the request header by which a caller names its own callback URL, when the unit allows it
    /// (<see cref="UnitDefinition.AllowCallbackUrl"/>): <c>X-Callback-Url</c>.
    /// </summary>
    public const string UrlHeader = "X-Callback-Url";

    /// <summary>Parses a callback URL as <c>url</c> and <c>X-Callback-Url</c> take it: an absolute http or https URL with a host; <c>null</c> otherwise.</summary>
    /// <param name="text">The URL as written, without surrounding white space.</param>
    public static Uri? ParseUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host)
            ? uri
            : null;

    /// <summary>Absolute http or https URL; <c>null</c> when only requests that name one in <c>X-Callback-Url</c> get a callback.</summary>
    public Uri? Url { get; init; }

    /// <summary>Outcomes that are posted; default success and failure.</summary>
    public CallbackOutcomes On { get; init; } = CallbackOutcomes.Success | CallbackOutcomes.Failure;

    /// <summary>
    /// When set, each delivery carries <c>X-Nano-Run-Timestamp: T</c> and <c>X-Nano-Run-Signature: v1=HEX</c>, an
    /// HMAC-SHA256 bound to the callback's purpose, unit and URL (see docs/api.md); default none.
    /// </summary>
    public string? Secret { get; init; }
}
