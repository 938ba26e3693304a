using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace NanoRun.Server.Tests.Authorization;

/// <summary>JSON Web Tokens built by hand (independently of the server's library), good and bad.</summary>
internal static class TestJwt
{
    public static string Hs256(string secret, string payloadJson) =>
        Sign("""{"alg":"HS256","typ":"JWT"}""", payloadJson, data => HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), data));

    public static string Hs512(string secret, string payloadJson) =>
        Sign("""{"alg":"HS512","typ":"JWT"}""", payloadJson, data => HMACSHA512.HashData(Encoding.UTF8.GetBytes(secret), data));

    public static string Unsigned(string payloadJson) =>
        Sign("""{"alg":"none","typ":"JWT"}""", payloadJson, _ => []);

    public static string Rs256(string payloadJson)
    {
        using var rsa = RSA.Create(2048);
        return Sign("""{"alg":"RS256","typ":"JWT"}""", payloadJson, data => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    /// <summary>A correctly signed token whose payload is then swapped for another.</summary>
    public static string Tampered(string secret, string signedPayloadJson, string swappedPayloadJson)
    {
        var parts = Hs256(secret, signedPayloadJson).Split('.');
        return parts[0] + "." + Encode(swappedPayloadJson) + "." + parts[2];
    }

    /// <summary>A payload with <c>sub</c>, <c>exp</c> (default 5 minutes from now) and an optional <c>nbf</c> offset from now.</summary>
    public static string Payload(TimeSpan? expiresIn = null, TimeSpan? validIn = null) => Payload(expiresIn ?? TimeSpan.FromMinutes(5), validIn, "tester");

    /// <summary>A payload with <c>sub</c> and no <c>exp</c>: valid forever where a unit allows it.</summary>
    public static string PayloadWithoutExp(string subject = "tester") => Payload(null, null, subject);

    private static string Payload(TimeSpan? expiresIn, TimeSpan? validIn, string subject)
    {
        var now = DateTimeOffset.UtcNow;
        var text = new StringBuilder("{\"sub\":\"").Append(subject).Append("\",\"iat\":").Append(now.ToUnixTimeSeconds());
        if (expiresIn is { } exp)
        {
            text.Append(",\"exp\":").Append((now + exp).ToUnixTimeSeconds());
        }

        if (validIn is { } nbf)
        {
            text.Append(",\"nbf\":").Append((now + nbf).ToUnixTimeSeconds());
        }

        return text.Append('}').ToString();
    }

    private static string Sign(string headerJson, string payloadJson, Func<byte[], byte[]> sign)
    {
        var signingInput = Encode(headerJson) + "." + Encode(payloadJson);
        return signingInput + "." + Base64Url.EncodeToString(sign(Encoding.ASCII.GetBytes(signingInput)));
    }

    private static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
}
