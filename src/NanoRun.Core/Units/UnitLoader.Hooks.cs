using NanoRun.Configuration;

namespace NanoRun.Units;

/// <summary>Readers of the signed-webhook (<c>authorization.hmac</c>) and completion-callback (<c>callback</c>) keys.</summary>
public static partial class UnitLoader
{
    private static HmacAuthorization? ReadHmac(YamlSection? section)
    {
        if (section is null)
        {
            return null;
        }

        section.AllowOnly("enable", "header", "algorithm", "secret", "prefix", "encoding", "format", "tolerance");
        var enabled = section.GetBool("enable", false);
        var defaults = new HmacAuthorization { Secret = "-" };
        var header = ReadHeaderName(section, "header") ?? defaults.Header;
        var algorithmText = section.GetString("algorithm")?.Trim();
        var algorithm = algorithmText?.ToUpperInvariant() switch
        {
            null or "" or "SHA256" => HmacAlgorithm.Sha256,
            "SHA1" => HmacAlgorithm.Sha1,
            "SHA512" => HmacAlgorithm.Sha512,
            _ => throw section.Error("algorithm", $"must be one of sha1, sha256, sha512, got '{algorithmText}'"),
        };
        var encodingText = section.GetString("encoding")?.Trim();
        var base64 = encodingText?.ToUpperInvariant() switch
        {
            null or "" or "HEX" => false,
            "BASE64" => true,
            _ => throw section.Error("encoding", $"must be hex or base64, got '{encodingText}'"),
        };
        var formatText = section.GetString("format")?.Trim();
        var format = formatText?.ToUpperInvariant() switch
        {
            null or "" or "PLAIN" => HmacFormat.Plain,
            "TIMESTAMPED" => HmacFormat.Timestamped,
            _ => throw section.Error("format", $"must be plain or timestamped, got '{formatText}'"),
        };
        var tolerance = section.GetDuration("tolerance", allowZero: false) ?? defaults.Tolerance;
        var prefix = section.GetString("prefix") ?? string.Empty;
        var secret = section.GetString("secret");
        if (!enabled)
        {
            return null;
        }

        if (string.IsNullOrEmpty(secret))
        {
            throw section.Error("secret", "must be set when hmac is enabled");
        }

        if (format == HmacFormat.Timestamped && prefix.Length > 0)
        {
            throw section.Error("prefix", "cannot be combined with format: timestamped");
        }

        return new HmacAuthorization
        {
            Header = header,
            Algorithm = algorithm,
            Secret = secret,
            Prefix = prefix,
            Base64 = base64,
            Format = format,
            Tolerance = tolerance,
        };
    }

    private static CallbackSettings? ReadCallback(YamlSection? section)
    {
        if (section is null)
        {
            return null;
        }

        section.AllowOnly("url", "on", "secret");
        Uri? url = null;
        if (section.GetNonEmptyString("url") is { } text)
        {
            url = ParseCallbackUrl(text.Trim()) ?? throw section.Error("url", $"must be an absolute http or https URL, got '{text}'");
        }

        var on = CallbackOutcomes.None;
        var list = section.GetStringList("on");
        for (var i = 0; i < list.Count; i++)
        {
            on |= list[i].Trim().ToUpperInvariant() switch
            {
                "SUCCESS" => CallbackOutcomes.Success,
                "FAILURE" => CallbackOutcomes.Failure,
                "CANCELLED" => CallbackOutcomes.Cancelled,
                _ => throw section.ItemError("on", i, $"must be success, failure or cancelled, got '{list[i]}'"),
            };
        }

        var secret = section.GetString("secret");
        return new CallbackSettings
        {
            Url = url,
            On = list.Count == 0 ? new CallbackSettings().On : on,
            Secret = string.IsNullOrEmpty(secret) ? null : secret,
        };
    }

    /// <summary>Parses an absolute http or https URL with a host, or returns <c>null</c>.</summary>
    internal static Uri? ParseCallbackUrl(string text) => CallbackSettings.ParseUrl(text);
}
