using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Primitives;
using NanoRun.AspNetCore.Authorization;
using NanoRun.Core.Tests.HostileInput;
using NanoRun.Server.Tests.Authorization;
using NanoRun.Units;

namespace NanoRun.Server.Tests.HostileInput;

/// <summary>Property tests of the credential parsers: any header value is a verdict, never a crash, and only the real credential is accepted.</summary>
public sealed class CredentialPropertyTests
{
    private const string Secret = "fuzz-secret";
    private const string Login = "alice";
    private const string Password = "correct horse";
    private const long MaxBytesPerCall = 8 * 1024 * 1024;

    // Cost 4 keeps a verification near a millisecond, so a property can run thousands of them.
    private static readonly string PasswordHash = BCrypt.Net.BCrypt.HashPassword(Password, workFactor: 4);

    [Property(MaxTest = 2000)]
    public Property JwtCheck_AnyHeaderValue_AcceptsOnlyAValidHs256Token() =>
        Prop.ForAll(Tokens(), token =>
            Hostile.Bounded(token.Value, MaxBytesPerCall, () =>
            {
                var check = new JwtCheck(new JwtAuthorization { Secret = Secret, RequireExp = false });

                var verdict = check.CheckAsync(new StringValues(token.Value)).AsTask().GetAwaiter().GetResult();

                if (token.Valid is { } valid)
                {
                    Assert.Equal(valid, verdict == CredentialVerdict.Accepted);
                }
            }));

    [Property(MaxTest = 1500)]
    public Property BasicCheck_AnyHeaderValue_AcceptsOnlyTheListedUser() =>
        Prop.ForAll(BasicHeaders(), header =>
            Hostile.Bounded(header, MaxBytesPerCall, () =>
            {
                var check = new BasicCheck(new BasicAuthorization { Users = new Dictionary<string, string> { [Login] = PasswordHash } }, TimeProvider.System);

                var verdict = check.Check(header);

                Assert.Equal(IsRealCredential(header), verdict == CredentialVerdict.Accepted);
            }));

    /// <summary>A header value and whether the check must accept it; <c>null</c> for a genuinely signed token with an odd payload, where either verdict is safe.</summary>
    public sealed record Token(string Value, bool? Valid);

    private static Arbitrary<Token> Tokens()
    {
        var payloads = Gen.Elements(
            """{"sub":"fuzz"}""",
            """{"sub":"fuzz","exp":1}""",
            """{"sub":"fuzz","exp":99999999999999999999999}""",
            """{"sub":"fuzz","nbf":"tomorrow"}""",
            """{"exp":-1}""",
            """[]""",
            """{"a":{"b":{"c":[1,2,{"d":null}]}}}""",
            "not json",
            "");
        var valid = payloads.Select(static p => new Token(TestJwt.Hs256(Secret, p), IsAcceptablePayload(p)));
        var bearer = valid.Select(static t => t with { Value = "Bearer " + t.Value });
        var forged = payloads.SelectMany(p => Gen.Elements(
            TestJwt.Hs256("other-secret", p),
            TestJwt.Hs512(Secret, p),
            TestJwt.Unsigned(p),
            TestJwt.Tampered(Secret, """{"sub":"fuzz"}""", p + " ")).Select(static t => new Token(t, false)));
        var mutated = Gen.Elements(TestJwt.Hs256(Secret, """{"sub":"fuzz"}"""), "Bearer " + TestJwt.Hs256(Secret, """{"sub":"x"}"""))
            .SelectMany(seed => Hostile.Strings("abcXYZ019-_.=+/ ", seed).Generator)
            .Select(static t => new Token(t, IsUntouchedValid(t) ? true : null));
        var noise = Hostile.Strings("eyJhbGciOi.-_=+/Bearer ", "a.b.c", "e30.e30.", "...", "Bearer ").Generator.Select(static t => new Token(t, false));
        return Gen.Frequency((2, valid), (1, bearer), (3, forged), (4, mutated), (4, noise)).ToArbitrary();
    }

    private static bool? IsAcceptablePayload(string payload) => payload switch
    {
        """{"sub":"fuzz"}""" or """{"a":{"b":{"c":[1,2,{"d":null}]}}}""" => true,
        """{"sub":"fuzz","exp":1}""" or """{"exp":-1}""" => false,
        _ => null,
    };

    /// <summary>A mutation that left one of the valid seeds intact (whitespace around it aside) still carries a valid token; any
    /// other mutation of a signed token is checked by the forged cases, since an edit may land in ignored base64 padding bits.</summary>
    private static bool IsUntouchedValid(string value)
    {
        var token = value.Trim();
        if (token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = token["Bearer ".Length..].Trim();
        }

        return token == TestJwt.Hs256(Secret, """{"sub":"fuzz"}""") || token == TestJwt.Hs256(Secret, """{"sub":"x"}""");
    }

    private static Arbitrary<string> BasicHeaders()
    {
        var logins = Gen.Elements(Login, "Alice", "alice ", "", "bob", "alice:x", "\u0000", "ålice");
        var passwords = Gen.OneOf(Gen.Elements(Password, "", "correct horse ", "Correct horse", new string('x', 100)), Hostile.Strings("correct horse", Password).Generator);
        var encoded = Gen.Zip(logins, passwords).Select(static p => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Item1 + ":" + p.Item2)));
        var mutated = encoded.SelectMany(seed => Hostile.Strings("ABCabc019+/= ", seed).Generator);
        var noise = Hostile.Strings("Basic YWxpY2U6=+/ ", "Basic ", "Basic ====", "Basic YWxpY2U=", "basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(Login + ":" + Password))).Generator;
        return Gen.Frequency((3, encoded), (4, mutated), (3, noise)).ToArbitrary();
    }

    /// <summary>Whether <paramref name="header"/> decodes to the listed login and a password bcrypt takes for the real one (it reads 72 bytes).</summary>
    private static bool IsRealCredential(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(header["Basic ".Length..].Trim());
        }
        catch (FormatException)
        {
            return false;
        }

        var text = decoded.AsSpan();
        var colon = text.IndexOf((byte)':');
        if (colon < 0 || !text[..colon].SequenceEqual(Encoding.UTF8.GetBytes(Login)))
        {
            return false;
        }

        var password = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(text[(colon + 1)..]));
        var real = Encoding.UTF8.GetBytes(Password);
        return password.AsSpan(0, Math.Min(password.Length, 72)).SequenceEqual(real);
    }
}
