using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

using static NanoRun.AspNetCore.Ui.UiEndpoints;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The UI's OAuth2 sign-in (authorization code with PKCE) and sign-out.</summary>
internal sealed class UiLoginEndpoints(UiEndpoints ui)
{
    /// <summary>The cookie that carries the login's state and return address from the start to the callback.</summary>
    private const string StateCookie = "nano-run-oauth";

    /// <summary>How long a started login may take at the provider.</summary>
    private static readonly TimeSpan LoginLifetime = TimeSpan.FromMinutes(10);

    /// <summary><c>GET /auth/login?return=</c>: the sign-in page.</summary>
    public async Task LoginPageAsync(HttpContext context)
    {
        var uiBase = context.Request.PathBase + ui.Prefix;
        var auth = context.RequestServices.GetRequiredService<UiOptions>().Auth;
        if (auth is null)
        {
            context.Response.Redirect(uiBase + "/");
            return;
        }

        var back = LocalReturn(context.Request.Query["return"].ToString(), uiBase);
        var message = context.Request.Query.ContainsKey("out") ? "You are signed out." : null;
        var model = new LoginPageModel(
            new LayoutModel("Sign in", Anonymous(uiBase)),
            auth.OAuth2.Title,
            auth.OAuth2.Icon,
            uiBase + "/auth/start?return=" + Uri.EscapeDataString(back),
            message);
        await RenderAsync(context, Pages.Login(model)).ConfigureAwait(false);
    }

    /// <summary><c>GET /auth/start?return=</c>: sends the browser to the provider with a fresh state bound to this browser by a cookie.</summary>
    public Task LoginStartAsync(HttpContext context)
    {
        var uiBase = context.Request.PathBase + ui.Prefix;
        var auth = context.RequestServices.GetRequiredService<UiOptions>().Auth;
        if (auth is null)
        {
            context.Response.Redirect(uiBase + "/");
            return Task.CompletedTask;
        }

        var provider = auth.OAuth2;
        var state = Base64Url(RandomNumberGenerator.GetBytes(32));

        // PKCE (RFC 7636, S256): the verifier stays in the protected cookie, only its hash goes to the provider, so a
        // code caught on its way back is useless without this browser's cookie.
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var back = LocalReturn(context.Request.Query["return"].ToString(), uiBase);
        var protector = StateProtector(context);
        context.Response.Cookies.Append(StateCookie, protector.Protect(state + "\n" + verifier + "\n" + back, LoginLifetime), new CookieOptions
        {
            HttpOnly = true,
            Secure = context.Request.IsHttps,

            // Lax: the provider's redirect back is a top-level navigation from another site.
            SameSite = SameSiteMode.Lax,
            MaxAge = LoginLifetime,
            Path = "/",
        });

        var authUrl = OAuth2Client.Required(provider.AuthUrl);
        var query = new StringBuilder(authUrl.AbsoluteUri);
        query.Append(authUrl.Query.Length > 0 ? '&' : '?')
            .Append("response_type=code&client_id=").Append(Uri.EscapeDataString(provider.ClientId))
            .Append("&redirect_uri=").Append(Uri.EscapeDataString(CallbackUri(context, provider)))
            .Append("&state=").Append(state)
            .Append("&code_challenge=").Append(challenge)
            .Append("&code_challenge_method=S256");
        if (provider.Scopes.Count > 0)
        {
            query.Append("&scope=").Append(Uri.EscapeDataString(string.Join(' ', provider.Scopes)));
        }

        context.Response.Redirect(query.ToString());
        return Task.CompletedTask;
    }

    /// <summary><c>GET /auth/callback?code=&amp;state=</c>: checks the state, trades the code for a token, reads the login and starts the session.</summary>
    public async Task CallbackAsync(HttpContext context)
    {
        var uiBase = context.Request.PathBase + ui.Prefix;
        var anonymous = Anonymous(uiBase);
        var loginPage = uiBase + "/auth/login";
        var auth = context.RequestServices.GetRequiredService<UiOptions>().Auth;
        if (auth is null)
        {
            context.Response.Redirect(uiBase + "/");
            return;
        }

        var query = context.Request.Query;
        var expected = ReadState(context);
        context.Response.Cookies.Delete(StateCookie, new CookieOptions { Path = "/" });
        if (query["error"].ToString() is { Length: > 0 } error)
        {
            await MessageAsync(context, anonymous, StatusCodes.Status401Unauthorized, "Sign-in refused", "The provider refused the sign-in: " + error + ".", loginPage).ConfigureAwait(false);
            return;
        }

        var code = query["code"].ToString();
        var state = query["state"].ToString();
        if (expected is null || code.Length == 0 || !FixedEquals(expected.Value.State, state))
        {
            await MessageAsync(context, anonymous, StatusCodes.Status400BadRequest, "Sign-in expired", "This sign-in was not started here or took too long. Start again.", loginPage).ConfigureAwait(false);
            return;
        }

        var client = context.RequestServices.GetRequiredService<OAuth2Client>();
        var provider = auth.OAuth2;
        var token = await client.ExchangeCodeAsync(provider, code, CallbackUri(context, provider), expected.Value.Verifier, context.RequestAborted).ConfigureAwait(false);
        var login = token is null ? null : await client.ReadLoginAsync(provider, token, context.RequestAborted).ConfigureAwait(false);
        if (login is null)
        {
            await MessageAsync(context, anonymous, StatusCodes.Status502BadGateway, "Sign-in failed", "The provider did not confirm who you are. The server log says why.", loginPage).ConfigureAwait(false);
            return;
        }

        if (!IsAllowed(auth, login))
        {
            await MessageAsync(context, anonymous, StatusCodes.Status403Forbidden, "Not allowed", login + " is not allowed to use this server.", loginPage).ConfigureAwait(false);
            return;
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, login), new Claim(ClaimTypes.Name, login)], "oauth2");
        await context.SignInAsync(UiSession.Scheme, new ClaimsPrincipal(identity)).ConfigureAwait(false);
        context.Response.Redirect(expected.Value.Return);
    }

    /// <summary><c>POST /auth/logout</c>: ends the session.</summary>
    public async Task LogoutAsync(HttpContext context)
    {
        var session = await ui.EnterAsync(context, form: true).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        if (session.AuthEnabled)
        {
            await context.SignOutAsync(UiSession.Scheme).ConfigureAwait(false);
        }

        context.Response.Redirect(session.Base + "/auth/login?out=1");
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    /// <summary>The redirect URI registered with the provider: the configured one, else this server's callback route.</summary>
    private string CallbackUri(HttpContext context, OAuth2Options provider) =>
        provider.CallbackUrl?.AbsoluteUri
        ?? context.Request.Scheme + "://" + context.Request.Host.Value + context.Request.PathBase + ui.Prefix + "/auth/callback";

    private static ITimeLimitedDataProtector StateProtector(HttpContext context) =>
        context.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector("NanoRun.Ui.OAuth2State").ToTimeLimitedDataProtector();

    private static (string State, string Verifier, string Return)? ReadState(HttpContext context)
    {
        if (!context.Request.Cookies.TryGetValue(StateCookie, out var cookie) || string.IsNullOrEmpty(cookie))
        {
            return null;
        }

        try
        {
            var text = StateProtector(context).Unprotect(cookie);
            var parts = text.Split('\n', 3);
            return parts.Length < 3 ? null : (parts[0], parts[1], parts[2]);
        }
        catch (CryptographicException)
        {
            // Expired, tampered with, or protected by another key ring.
            return null;
        }
    }

    /// <summary>
    /// Keeps a return address only when it is a path inside the UI, so a login never redirects elsewhere; a dot
    /// segment (<c>/ui/../api/…</c>, also percent-encoded) would lead a browser out of the UI and is refused.
    /// </summary>
    private static string LocalReturn(string value, string uiBase) =>
        value.StartsWith(uiBase + "/", StringComparison.Ordinal) && !value.StartsWith("//", StringComparison.Ordinal) && !value.Contains('\\', StringComparison.Ordinal)
            && !HasDotSegment(value)
            ? value
            : uiBase + "/";

    private static bool HasDotSegment(string value)
    {
        var end = value.IndexOfAny(['?', '#']);
        foreach (var segment in (end < 0 ? value : value[..end]).Split('/'))
        {
            if (Uri.UnescapeDataString(segment) is "." or "..")
            {
                return true;
            }
        }

        return false;
    }

    private static bool FixedEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
