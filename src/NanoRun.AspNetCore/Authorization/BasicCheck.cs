using System.Buffers;
using System.Buffers.Text;
using System.Text;
using BCrypt.Net;
using Microsoft.Extensions.Primitives;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>HTTP Basic credentials checked against bcrypt hashes (<c>$2a$</c>, <c>$2b$</c>, <c>$2y$</c>, as <c>htpasswd -B</c> writes them).</summary>
internal sealed class BasicCheck
{
    private const string Scheme = "Basic ";

    /// <summary>Longest decoded <c>login:password</c> looked at; bcrypt reads at most 72 bytes of a password anyway.</summary>
    private const int MaxCredentialBytes = 1024;

    private readonly IReadOnlyDictionary<string, string> _users;

    /// <summary>A hash checked for unknown logins so that they take as long to refuse as wrong passwords; <c>null</c> when no user is listed.</summary>
    private readonly string? _decoyHash;

    public BasicCheck(BasicAuthorization settings)
    {
        _users = settings.Users;
        _decoyHash = settings.Users.Values.FirstOrDefault();
    }

    public CredentialVerdict Check(StringValues authorization)
    {
        var verdict = CredentialVerdict.Missing;
        foreach (var value in authorization)
        {
            if (value is null || !value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            verdict = CredentialVerdict.Refused;
            if (Verify(value.AsSpan(Scheme.Length).Trim()))
            {
                return CredentialVerdict.Accepted;
            }
        }

        return verdict;
    }

    private bool Verify(ReadOnlySpan<char> encoded)
    {
        if (encoded.Length == 0 || Base64.GetMaxDecodedFromUtf8Length(encoded.Length) > MaxCredentialBytes)
        {
            return false;
        }

        var rented = ArrayPool<byte>.Shared.Rent(MaxCredentialBytes);
        try
        {
            if (!Convert.TryFromBase64Chars(encoded, rented, out var length))
            {
                return false;
            }

            var decoded = rented.AsSpan(0, length);
            var colon = decoded.IndexOf((byte)':');
            if (colon < 0)
            {
                return false;
            }

            var login = Encoding.UTF8.GetString(decoded[..colon]);
            var password = Encoding.UTF8.GetString(decoded[(colon + 1)..]);
            if (!_users.TryGetValue(login, out var hash))
            {
                _ = _decoyHash is not null && Matches(password, _decoyHash);
                return false;
            }

            return Matches(password, hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    private static bool Matches(string password, string hash)
    {
        try
        {
            // BCrypt.Verify compares the computed and stored hashes in constant time.
            return BCrypt.Net.BCrypt.Verify(password, hash);
        }
        catch (SaltParseException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
