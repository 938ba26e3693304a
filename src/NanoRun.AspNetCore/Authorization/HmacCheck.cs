using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;
using NanoRun.Requests;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>
/// A signature of the raw body in a header (GitHub <c>X-Hub-Signature-256: sha256=HEX</c>, Gitea
/// <c>X-Gitea-Signature: HEX</c>, Stripe-style <c>t=…,v1=HEX</c>). The header is read before the body; the HMAC is
/// computed by a <see cref="BodyVerifier"/> while the body streams to storage and compared in constant time.
/// </summary>
internal sealed class HmacCheck
{
    private readonly HmacAuthorization _settings;
    private readonly byte[] _key;
    private readonly HashAlgorithmName _algorithm;
    private readonly int _size;
    private readonly TimeProvider _time;

    public HmacCheck(HmacAuthorization settings, TimeProvider time)
    {
        _settings = settings;
        _time = time;
        _key = Encoding.UTF8.GetBytes(settings.Secret);
        (_algorithm, _size) = settings.Algorithm switch
        {
            HmacAlgorithm.Sha1 => (HashAlgorithmName.SHA1, HMACSHA1.HashSizeInBytes),
            HmacAlgorithm.Sha512 => (HashAlgorithmName.SHA512, HMACSHA512.HashSizeInBytes),
            _ => (HashAlgorithmName.SHA256, HMACSHA256.HashSizeInBytes),
        };
    }

    /// <summary>The header that carries the signature.</summary>
    public string Header => _settings.Header;

    /// <summary>
    /// Reads the signature header: <see cref="CredentialVerdict.Missing"/> without one, <see cref="CredentialVerdict.Refused"/>
    /// when it is malformed or its time is out of tolerance, otherwise <see cref="CredentialVerdict.Accepted"/> with the
    /// verifier that decides once the body is read.
    /// </summary>
    public CredentialVerdict Prepare(StringValues values, out BodyVerifier? verifier)
    {
        verifier = null;
        if (StringValues.IsNullOrEmpty(values))
        {
            return CredentialVerdict.Missing;
        }

        if (values.Count != 1 || values[0] is not { Length: > 0 } text)
        {
            return CredentialVerdict.Refused;
        }

        var expected = new List<byte[]>(1);
        string? timestamp = null;
        if (_settings.Format == HmacFormat.Timestamped)
        {
            foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (part.StartsWith("t=", StringComparison.Ordinal))
                {
                    timestamp = part[2..];
                }
                else if (part.StartsWith("v1=", StringComparison.Ordinal) && Decode(part.AsSpan(3)) is { } signature)
                {
                    expected.Add(signature);
                }
            }

            if (timestamp is null || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                || Math.Abs(_time.GetUtcNow().ToUnixTimeSeconds() - seconds) > _settings.Tolerance.TotalSeconds)
            {
                return CredentialVerdict.Refused;
            }
        }
        else if (text.StartsWith(_settings.Prefix, StringComparison.OrdinalIgnoreCase) && Decode(text.AsSpan(_settings.Prefix.Length)) is { } signature)
        {
            expected.Add(signature);
        }

        if (expected.Count == 0)
        {
            return CredentialVerdict.Refused;
        }

        var hash = IncrementalHash.CreateHMAC(_algorithm, _key);
        if (timestamp is not null)
        {
            hash.AppendData(Encoding.ASCII.GetBytes(timestamp + "."));
        }

        verifier = new HmacVerifier(hash, expected);
        return CredentialVerdict.Accepted;
    }

    private byte[]? Decode(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        var bytes = new byte[_size];
        if (_settings.Base64)
        {
            return Convert.TryFromBase64Chars(text, bytes, out var written) && written == _size ? bytes : null;
        }

        return text.Length == _size * 2 && Convert.FromHexString(text, bytes, out _, out var hexWritten) == System.Buffers.OperationStatus.Done && hexWritten == _size
            ? bytes
            : null;
    }

    /// <summary>Feeds the body into the HMAC and compares the result with every presented signature in constant time.</summary>
    private sealed class HmacVerifier : BodyVerifier
    {
        private readonly IncrementalHash _hash;
        private readonly List<byte[]> _expected;

        public HmacVerifier(IncrementalHash hash, List<byte[]> expected)
        {
            _hash = hash;
            _expected = expected;
        }

        public override void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

        public override bool Verify()
        {
            using (_hash)
            {
                Span<byte> actual = stackalloc byte[HMACSHA512.HashSizeInBytes];
                var length = _hash.GetHashAndReset(actual);
                var match = false;
                foreach (var candidate in _expected)
                {
                    match |= CryptographicOperations.FixedTimeEquals(actual[..length], candidate);
                }

                return match;
            }
        }
    }
}
