using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using NanoRun.AspNetCore.Api;
using NanoRun.Requests;
using NanoRun.Units;

namespace NanoRun.AspNetCore.Authorization;

/// <summary>
/// Checks API requests against their unit's <c>authorization</c>: any enabled method that accepts lets a request
/// through; none enabled means open. A refusal is answered here with 401 or 403 before any body is read.
/// </summary>
internal sealed class UnitAuthorizer
{
    /// <summary>The checks of each unit, built on first use and dropped with the unit's definition.</summary>
    private readonly ConditionalWeakTable<UnitDefinition, UnitChecks> _checks = [];
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConditionalWeakTable<UnitDefinition, UnitChecks>.CreateValueCallback _createChecks;

    public UnitAuthorizer(ILogger<UnitAuthorizer> logger, TimeProvider time)
    {
        _logger = logger;
        _time = time;
        _createChecks = CreateChecks;
    }

    /// <summary>Returns <c>true</c> when the request may use the unit; otherwise answers 401 or 403 and returns <c>false</c>.</summary>
    public async ValueTask<bool> AuthorizeAsync(HttpContext context, UnitDefinition unit) =>
        (await AuthorizeAsync(context, unit, bodyFollows: false).ConfigureAwait(false)).Allowed;

    /// <summary>
    /// Like <see cref="AuthorizeAsync(HttpContext, UnitDefinition)"/>; when only a body signature (<c>hmac</c>) can let the
    /// request in and <paramref name="bodyFollows"/> is set, it is allowed with a verifier that the engine runs while it
    /// stores the body. Without a body to store the signature is checked over the empty body at once.
    /// </summary>
    public async ValueTask<(bool Allowed, BodyVerifier? Verifier)> AuthorizeAsync(HttpContext context, UnitDefinition unit, bool bodyFollows)
    {
        if (!unit.Authorization.IsEnabled)
        {
            return (true, null);
        }

        var checks = _checks.GetValue(unit, _createChecks);
        var request = context.Request;
        if (RepeatedCredential(request, checks) is { } repeated)
        {
            // Each method looks at one credential per request: a request carrying several is malformed, and is refused
            // before anything is verified so that it cannot make the server hash many passwords for it.
            await RefuseRepeatedAsync(context, repeated).ConfigureAwait(false);
            return (false, null);
        }

        var presented = false;
        if (checks.Jwt is { } jwt)
        {
            var (verdict, subject) = await jwt.CheckWithSubjectAsync(request.Headers[jwt.Header]).ConfigureAwait(false);
            if (verdict == CredentialVerdict.Accepted)
            {
                CallerPrincipal.Set(context, "jwt:" + subject);
                return (true, null);
            }

            presented |= verdict == CredentialVerdict.Refused;
        }

        if (checks.QueryToken is { } query)
        {
            var verdict = query.Check(request.Query[query.Name]);
            if (verdict == CredentialVerdict.Accepted)
            {
                CallerPrincipal.Set(context, "token:" + request.Query[query.Name].ToString());
                return (true, null);
            }

            presented |= verdict == CredentialVerdict.Refused;
        }

        if (checks.HeaderToken is { } header)
        {
            var verdict = header.Check(request.Headers[header.Name]);
            if (verdict == CredentialVerdict.Accepted)
            {
                CallerPrincipal.Set(context, "token:" + request.Headers[header.Name].ToString());
                return (true, null);
            }

            presented |= verdict == CredentialVerdict.Refused;
        }

        if (checks.Basic is { } basic)
        {
            var verdict = basic.Check(request.Headers.Authorization.ToString(), out var login);
            if (verdict == CredentialVerdict.Accepted)
            {
                CallerPrincipal.Set(context, "basic:" + login);
                return (true, null);
            }

            presented |= verdict == CredentialVerdict.Refused;
        }

        if (checks.Hmac is { } hmac)
        {
            var verdict = hmac.Prepare(request.Headers[hmac.Header], out var verifier);
            if (verdict == CredentialVerdict.Accepted && verifier is not null)
            {
                CallerPrincipal.Set(context, "hmac:" + unit.Name);
                if (bodyFollows)
                {
                    return (true, verifier);
                }

                if (verifier.Verify())
                {
                    return (true, null);
                }
            }

            presented |= verdict != CredentialVerdict.Missing;
        }

        Refuse(context, unit, checks, presented);
        return (false, null);
    }

    /// <summary>Answers 403 for a body whose signature did not match; the engine has already removed what it stored.</summary>
    public void RefuseBody(HttpContext context, UnitDefinition unit)
    {
        Refuse(context, unit, _checks.GetValue(unit, _createChecks), presented: true);
    }

    /// <summary>Names the header or query parameter that carries a credential of an enabled method more than once, or <c>null</c>.</summary>
    private static string? RepeatedCredential(HttpRequest request, UnitChecks checks)
    {
        if (request.Headers.Authorization.Count > 1)
        {
            return "the Authorization header";
        }

        if (checks.Jwt is { } jwt && request.Headers[jwt.Header].Count > 1)
        {
            return "the " + jwt.Header + " header";
        }

        if (checks.HeaderToken is { } header && request.Headers[header.Name].Count > 1)
        {
            return "the " + header.Name + " header";
        }

        if (checks.QueryToken is { } query && request.Query[query.Name].Count > 1)
        {
            return "the query parameter " + query.Name;
        }

        return null;
    }

    private Task RefuseRepeatedAsync(HttpContext context, string what)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        AuthorizationLog.Refused(_logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, StatusCodes.Status400BadRequest, "credential sent more than once");
        return ProblemResponses.WriteAsync(context, StatusCodes.Status400BadRequest, what + " may carry one credential per request");
    }

    /// <summary>
    /// 401 when no credential came or when basic is on (so a browser asks again), 403 for a wrong credential
    /// otherwise. The answer names the schemes, never a secret.
    /// </summary>
    private void Refuse(HttpContext context, UnitDefinition unit, UnitChecks checks, bool presented)
    {
        var response = context.Response;
        var status = presented && checks.Basic is null ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        if (status == StatusCodes.Status401Unauthorized)
        {
            if (checks.Basic is not null)
            {
                response.Headers.Append("WWW-Authenticate", "Basic realm=\"" + unit.Name + "\", charset=\"UTF-8\"");
            }

            if (checks.Jwt is { UsesAuthorizationHeader: true })
            {
                response.Headers.Append("WWW-Authenticate", "Bearer realm=\"" + unit.Name + "\"");
            }
        }

        AuthorizationLog.Refused(_logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, status, presented ? "wrong credentials" : "no credentials");
    }

    private UnitChecks CreateChecks(UnitDefinition unit)
    {
        var settings = unit.Authorization;
        return new UnitChecks(
            settings.Jwt is null ? null : new JwtCheck(settings.Jwt),
            settings.QueryToken is null ? null : new TokenCheck(settings.QueryToken),
            settings.HeaderToken is null ? null : new TokenCheck(settings.HeaderToken),
            settings.Basic is null ? null : new BasicCheck(settings.Basic, _time),
            settings.Hmac is null ? null : new HmacCheck(settings.Hmac, _time));
    }

    private sealed record UnitChecks(JwtCheck? Jwt, TokenCheck? QueryToken, TokenCheck? HeaderToken, BasicCheck? Basic, HmacCheck? Hmac);
}
