using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>Static tokens from a query parameter or a header, compared in constant time.</summary>
internal sealed class TokenCheck
{
    private const int DigestSize = SHA256.HashSizeInBytes;

    /// <summary>SHA-256 of each accepted token, back to back; comparing digests hides the tokens' lengths as well as their bytes.</summary>
    private readonly byte[] _digests;

    public TokenCheck(TokenAuthorization settings)
    {
        Name = settings.Name;
        _digests = new byte[settings.Tokens.Count * DigestSize];
        for (var i = 0; i < settings.Tokens.Count; i++)
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(settings.Tokens[i]), _digests.AsSpan(i * DigestSize, DigestSize));
        }
    }

    /// <summary>The query parameter or header that carries the token.</summary>
    public string Name { get; }

    public CredentialVerdict Check(StringValues candidates)
    {
        if (StringValues.IsNullOrEmpty(candidates))
        {
            return CredentialVerdict.Missing;
        }

        foreach (var candidate in candidates)
        {
            if (!string.IsNullOrEmpty(candidate) && Matches(candidate))
            {
                return CredentialVerdict.Accepted;
            }
        }

        return CredentialVerdict.Refused;
    }

    private bool Matches(string candidate)
    {
        Span<byte> digest = stackalloc byte[DigestSize];
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(candidate.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(candidate, rented);
            SHA256.HashData(rented.AsSpan(0, length), digest);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }

        // Every token is compared, so the time taken does not tell which one (if any) matched.
        var matched = false;
        for (var offset = 0; offset < _digests.Length; offset += DigestSize)
        {
            matched |= CryptographicOperations.FixedTimeEquals(digest, _digests.AsSpan(offset, DigestSize));
        }

        return matched;
    }
}
