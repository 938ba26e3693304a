using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using BCrypt.Net;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>HTTP Basic credentials checked against bcrypt hashes (<c>$2a$</c>, <c>$2b$</c>, <c>$2y$</c>, as <c>htpasswd -B</c> writes them).</summary>
internal sealed class BasicCheck
{
    private const string Scheme = "Basic ";

    /// <summary>Longest decoded <c>login:password</c> looked at; bcrypt reads at most 72 bytes of a password anyway.</summary>
    private const int MaxCredentialBytes = 1024;

    /// <summary>Most credentials remembered as verified; when full, expired entries go, and all of them if none has expired.</summary>
    private const int MaxRemembered = 256;

    /// <summary>How long a verified credential is accepted again without bcrypt.</summary>
    private static readonly TimeSpan RememberFor = TimeSpan.FromMinutes(1);

    /// <summary>Key of the HMAC that names remembered credentials; random per process, so the names reveal nothing outside it.</summary>
    private static readonly byte[] RememberKey = RandomNumberGenerator.GetBytes(32);

    private readonly IReadOnlyDictionary<string, string> _users;
    private readonly TimeProvider _time;

    /// <summary>
    /// Credentials that passed bcrypt lately, by HMAC of the presented <c>login:password</c> and the stored hash, with the
    /// time they are forgotten. Only successes are remembered, so a wrong password always costs bcrypt.
    /// </summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _verified = new(StringComparer.Ordinal);

    /// <summary>A hash checked for unknown logins so that they take as long to refuse as wrong passwords; <c>null</c> when no user is listed.</summary>
    private readonly string? _decoyHash;

    public BasicCheck(BasicAuthorization settings, TimeProvider time)
    {
        _users = settings.Users;
        _time = time;
        _decoyHash = settings.Users.Values.FirstOrDefault();
    }

    /// <summary>Checks the one <c>Authorization</c> value of a request (empty when none came).</summary>
    public CredentialVerdict Check(string authorization) => Check(authorization, out _);

    /// <summary>Like <see cref="Check(string)"/>; <paramref name="login"/> names the user when the credential is accepted.</summary>
    public CredentialVerdict Check(string authorization, out string? login)
    {
        login = null;
        if (!authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return CredentialVerdict.Missing;
        }

        return Verify(authorization.AsSpan(Scheme.Length).Trim(), out login) ? CredentialVerdict.Accepted : CredentialVerdict.Refused;
    }

    private bool Verify(ReadOnlySpan<char> encoded, out string? acceptedLogin)
    {
        acceptedLogin = null;
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

            var name = RememberedName(decoded, hash);
            var now = _time.GetUtcNow();
            if (_verified.TryGetValue(name, out var until) && now < until)
            {
                acceptedLogin = login;
                return true;
            }

            if (!Matches(password, hash))
            {
                return false;
            }

            Remember(name, now);
            acceptedLogin = login;
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    private static string RememberedName(ReadOnlySpan<byte> credential, string hash)
    {
        using var mac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, RememberKey);
        mac.AppendData(credential);
        mac.AppendData([0]);
        mac.AppendData(Encoding.UTF8.GetBytes(hash));
        return Convert.ToBase64String(mac.GetHashAndReset());
    }

    private void Remember(string name, DateTimeOffset now)
    {
        if (_verified.Count >= MaxRemembered)
        {
            foreach (var entry in _verified)
            {
                if (entry.Value <= now)
                {
                    _verified.TryRemove(entry);
                }
            }

            if (_verified.Count >= MaxRemembered)
            {
                _verified.Clear();
            }
        }

        _verified[name] = now + RememberFor;
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
