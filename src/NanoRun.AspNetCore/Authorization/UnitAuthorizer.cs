using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
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

    public UnitAuthorizer(ILogger<UnitAuthorizer> logger)
    {
        _logger = logger;
    }

    /// <summary>Returns <c>true</c> when the request may use the unit; otherwise answers 401 or 403 and returns <c>false</c>.</summary>
    public async ValueTask<bool> AuthorizeAsync(HttpContext context, UnitDefinition unit)
    {
        if (!unit.Authorization.IsEnabled)
        {
            return true;
        }

        var checks = _checks.GetValue(unit, CreateChecks);
        var request = context.Request;
        var presented = false;
        if (checks.Jwt is { } jwt)
        {
            var verdict = await jwt.CheckAsync(request.Headers[jwt.Header]).ConfigureAwait(false);
            if (verdict == CredentialVerdict.Accepted)
            {
                return true;
            }

            presented |= verdict == CredentialVerdict.Refused;
        }

        if (checks.QueryToken is { } query)
        {
            var verdict = query.Check(request.Query[query.Name]);
            if (verdict == CredentialVerdict.Accepted)
            {
                return true;
            }

            presented |= verdict == CredentialVerdict.Refused;
        }

        if (checks.HeaderToken is { } header)
        {
            var verdict = header.Check(request.Headers[header.Name]);
            if (verdict == CredentialVerdict.Accepted)
            {
                return true;
            }

            presented |= verdict == CredentialVerdict.Refused;
        }

        if (checks.Basic is { } basic)
        {
            var verdict = basic.Check(request.Headers.Authorization);
            if (verdict == CredentialVerdict.Accepted)
            {
                return true;
            }

            presented |= verdict == CredentialVerdict.Refused;
        }

        Refuse(context, unit, checks, presented);
        return false;
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

    private static UnitChecks CreateChecks(UnitDefinition unit)
    {
        var settings = unit.Authorization;
        return new UnitChecks(
            settings.Jwt is null ? null : new JwtCheck(settings.Jwt),
            settings.QueryToken is null ? null : new TokenCheck(settings.QueryToken),
            settings.HeaderToken is null ? null : new TokenCheck(settings.HeaderToken),
            settings.Basic is null ? null : new BasicCheck(settings.Basic));
    }

    private sealed record UnitChecks(JwtCheck? Jwt, TokenCheck? QueryToken, TokenCheck? HeaderToken, BasicCheck? Basic);
}
