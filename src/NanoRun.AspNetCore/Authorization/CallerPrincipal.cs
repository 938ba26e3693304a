using Microsoft.AspNetCore.Http;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>
/// Who a request's credential names, as set by <see cref="UnitAuthorizer"/> when it lets the request in: <c>jwt:</c> and
/// the token's subject, <c>basic:</c> and the login, <c>token:</c> and the static token, <c>hmac:</c> and the unit
/// (every sender that knows the secret is one caller). <c>null</c> for a request to an open unit. Never logged or
/// stored as such: only a hash of it is kept (in idempotency keys).
/// </summary>
internal static class CallerPrincipal
{
    private static readonly object Key = new();

    public static string? Get(HttpContext context) => context.Items.TryGetValue(Key, out var value) ? value as string : null;

    public static void Set(HttpContext context, string principal) => context.Items[Key] = principal;
}
