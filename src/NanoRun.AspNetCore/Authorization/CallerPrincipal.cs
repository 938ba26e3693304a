using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>
/// Who a request's credential names, as set by <see cref="UnitAuthorizer"/> when it lets the request in: <c>jwt:</c> and
/// the token's subject, <c>basic:</c> and the login, <c>token:</c> and the static token, <c>hmac:</c> and the unit
/// (every sender that knows the secret is one caller). <c>null</c> for a request to an open unit. Never logged or
/// stored as such: only a hash of it is kept (in idempotency keys), and a static token only as a hash (see <see cref="Stored"/>).
/// </summary>
internal static class CallerPrincipal
{
    private static readonly object Key = new();

    public static string? Get(HttpContext context) => context.Items.TryGetValue(Key, out var value) ? value as string : null;

    /// <summary>
    /// The principal as it is stored with a request and shown to handler units: a static token (<c>token:</c>) is a
    /// secret, so only <c>token:sha256:</c> and the first 16 hex digits of its SHA-256 are kept; others as they are.
    /// </summary>
    public static string? Stored(HttpContext context) => Get(context) is { } principal && principal.StartsWith(TokenPrefix, StringComparison.Ordinal)
        ? TokenPrefix + "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(principal[TokenPrefix.Length..])))[..16]
        : Get(context);

    private const string TokenPrefix = "token:";

    public static void Set(HttpContext context, string principal) => context.Items[Key] = principal;
}
