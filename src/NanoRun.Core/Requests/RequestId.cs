using System.Security.Cryptography;

namespace NanoRun.Requests;

/// <summary>Request and attempt ids: 32 lower-case hex characters, time-ordered prefix and 80 random bits.</summary>
public static class RequestId
{
    /// <summary>Length of every id.</summary>
    public const int Length = 32;

    /// <summary>Creates a new id, unique across nodes and restarts.</summary>
    public static string New(TimeProvider? time = null)
    {
        Span<byte> bytes = stackalloc byte[16];
        var ms = (ulong)(time ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)ms;
            ms >>= 8;
        }

        RandomNumberGenerator.Fill(bytes[6..]);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Whether <paramref name="value"/> has the shape of an id; anything else is answered 404 without a store look-up.</summary>
    public static bool IsValid(ReadOnlySpan<char> value)
    {
        if (value.Length != Length)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
