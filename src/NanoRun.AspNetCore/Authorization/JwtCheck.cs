using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>An HS256 JSON Web Token in a header (a <c>Bearer </c> prefix accepted), validated by <see cref="JsonWebTokenHandler"/>.</summary>
internal sealed class JwtCheck
{
    private const string BearerScheme = "Bearer ";

    /// <summary>HS256 keys shorter than this are refused by the handler; see <see cref="SigningKey"/>.</summary>
    private const int MinimumKeyBytes = 32;

    /// <summary>How far the clocks of the token's issuer and this server may disagree for <c>exp</c> and <c>nbf</c>.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private readonly JsonWebTokenHandler _handler = new();

    /// <summary>The validation rules, or <c>null</c> for an empty secret (possible only in code), which refuses every token.</summary>
    private readonly TokenValidationParameters? _parameters;

    public JwtCheck(JwtAuthorization settings)
    {
        Header = settings.Header;
        if (string.IsNullOrEmpty(settings.Secret))
        {
            return;
        }

        _parameters = new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(SigningKey(settings.Secret)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = true,
            // Without exp a token would be valid forever; only units that opt out (require_exp: false) accept one.
            RequireExpirationTime = settings.RequireExp,
            // exp and nbf are checked by the handler against the system clock (its time source is not settable in this version).
            ClockSkew = ClockSkew,
        };
    }

    /// <summary>The header that carries the token.</summary>
    public string Header { get; }

    /// <summary>Whether the token travels in <c>Authorization</c>, the header whose 401 names the <c>Bearer</c> scheme.</summary>
    public bool UsesAuthorizationHeader => Header.Equals("Authorization", StringComparison.OrdinalIgnoreCase);

    public async ValueTask<CredentialVerdict> CheckAsync(StringValues values) =>
        (await CheckWithSubjectAsync(values).ConfigureAwait(false)).Verdict;

    /// <summary>
    /// Like <see cref="CheckAsync"/>; an accepted token also gives its caller's name: its <c>sub</c> claim, or the token
    /// itself when it has none (so tokens without a subject are still told apart).
    /// </summary>
    public async ValueTask<(CredentialVerdict Verdict, string? Subject)> CheckWithSubjectAsync(StringValues values)
    {
        var verdict = CredentialVerdict.Missing;
        foreach (var value in values)
        {
            var token = value.AsSpan().Trim();
            if (token.StartsWith(BearerScheme, StringComparison.OrdinalIgnoreCase))
            {
                token = token[BearerScheme.Length..].Trim();
            }
            else if (token.Equals(BearerScheme.AsSpan().TrimEnd(), StringComparison.OrdinalIgnoreCase))
            {
                // "Bearer" with its token missing (the trailing space trimmed on the way).
                continue;
            }
            else if (UsesAuthorizationHeader && token.Contains(' '))
            {
                // Another scheme (such as Basic) sharing the header: not a token for this method.
                continue;
            }

            if (token.IsEmpty)
            {
                continue;
            }

            verdict = CredentialVerdict.Refused;
            if (_parameters is null)
            {
                continue;
            }

            var text = token.ToString();
            var result = await _handler.ValidateTokenAsync(text, _parameters).ConfigureAwait(false);
            if (result.IsValid)
            {
                var subject = (result.SecurityToken as JsonWebToken)?.Subject;
                return (CredentialVerdict.Accepted, string.IsNullOrEmpty(subject) ? "token " + text : "sub " + subject);
            }
        }

        return (verdict, null);
    }

    /// <summary>
    /// The secret's UTF-8 bytes, zero-padded to 32 bytes when shorter. HMAC pads every key shorter than its
    /// 64-byte block with zeros (RFC 2104), so the padded key signs exactly as the short one does; this keeps
    /// short secrets written for the Go tool working with a handler that refuses keys under 256 bits.
    /// </summary>
    private static byte[] SigningKey(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        if (bytes.Length >= MinimumKeyBytes)
        {
            return bytes;
        }

        var padded = new byte[MinimumKeyBytes];
        bytes.CopyTo(padded, 0);
        return padded;
    }
}
