using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace NanoRun.Ui.Tests;

/// <summary>A small OAuth2 provider on a loopback port: <c>/authorize</c> approves at once as <see cref="Login"/>,
/// <c>/token</c> trades a code for a token, <c>/profile</c> names the token's user.</summary>
internal sealed class FakeOAuthProvider : IAsyncDisposable
{
    public const string ClientId = "nano-run-ui";
    public const string ClientSecret = "s3cret";

    private readonly ConcurrentDictionary<string, (string Login, string RedirectUri, string Challenge)> _codes = new();
    private readonly ConcurrentDictionary<string, string> _tokens = new();
    private WebApplication? _app;

    /// <summary>Who the next approval signs in as.</summary>
    public string Login { get; set; } = "alice";

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Characters of filler added to each profile answer (sent chunked, without a length).</summary>
    public int ProfilePadding { get; set; }

    /// <summary>Every token request the provider answered with a token.</summary>
    public int TokensIssued => _tokens.Count;

    /// <summary>The <c>auth:</c> section of <c>server.yaml</c> for this provider.</summary>
    public string ServerYaml(params string[] users) =>
        $"""
        auth:
          oauth2:
            title: Fake Provider
            key: {ClientId}
            secret: {ClientSecret}
            auth_url: {BaseAddress}authorize
            token_url: {BaseAddress}token
            profile_url: {BaseAddress}profile
            login_field: login
            scopes: [read:user]
          users: [{string.Join(", ", users)}]

        """;

    public static async Task<FakeOAuthProvider> StartAsync()
    {
        var provider = new FakeOAuthProvider();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/authorize", (Delegate)provider.Authorize);
        app.MapPost("/token", (Delegate)provider.TokenAsync);
        app.MapGet("/profile", (Delegate)provider.Profile);
        await app.StartAsync();
        provider._app = app;
        provider.BaseAddress = new Uri(app.Urls.First() + "/");
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private IResult Authorize(HttpContext context)
    {
        var query = context.Request.Query;
        if (query["client_id"] != ClientId || query["response_type"] != "code" || query["scope"] != "read:user"
            || query["code_challenge_method"] != "S256" || query["code_challenge"].ToString().Length != 43)
        {
            return Results.BadRequest("bad authorization request");
        }

        var redirect = query["redirect_uri"].ToString();
        var code = Guid.NewGuid().ToString("N");
        _codes[code] = (Login, redirect, query["code_challenge"].ToString());
        var separator = redirect.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return Results.Redirect($"{redirect}{separator}code={code}&state={Uri.EscapeDataString(query["state"].ToString())}");
    }

    private async Task<IResult> TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret || form["grant_type"] != "authorization_code"
            || !_codes.TryRemove(form["code"].ToString(), out var grant) || grant.RedirectUri != form["redirect_uri"]
            || grant.Challenge != System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))))
        {
            return Results.Json(new Dictionary<string, string> { ["error"] = "invalid_grant" }, statusCode: 400);
        }

        var token = Guid.NewGuid().ToString("N");
        _tokens[token] = grant.Login;
        return Results.Json(new Dictionary<string, string> { ["access_token"] = token, ["token_type"] = "bearer" });
    }

    private IResult Profile(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.TryGetValue(header["Bearer ".Length..], out var login))
        {
            return Results.Unauthorized();
        }

        return Results.Json(new Dictionary<string, object> { ["login"] = login, ["id"] = 42, ["bio"] = new string('x', ProfilePadding) });
    }
}
