using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The server side of the OAuth2 authorization-code flow: trades a code for a token and reads the user's login from the profile.</summary>
internal sealed partial class OAuth2Client : IDisposable
{
    /// <summary>An endpoint the options validator has checked at start; a missing one is a broken host set-up.</summary>
    internal static Uri Required(Uri? url) => url ?? throw new InvalidOperationException("the UI's OAuth2 endpoints are not configured");

    /// <summary>Largest token or profile answer read (64 KiB); both are small JSON documents, read in chunks up to this.</summary>
    private const int MaxAnswerBytes = 64 * 1024;

    private readonly HttpClient _http;
    private readonly ILogger<OAuth2Client> _logger;

    public OAuth2Client(ILogger<OAuth2Client> logger)
    {
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("nano-run", "1.0"));
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>Trades an authorization code for an access token; returns <c>null</c> (and logs why) when the provider refuses.</summary>
    /// <param name="provider">The provider.</param>
    /// <param name="code">The code the provider sent back.</param>
    /// <param name="redirectUri">The redirect URI of the authorization request.</param>
    /// <param name="codeVerifier">The PKCE verifier whose S256 challenge went with the authorization request.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    public async Task<string?> ExchangeCodeAsync(OAuth2Options provider, string code, string redirectUri, string codeVerifier, CancellationToken cancellationToken)
    {
        using var content = new FormUrlEncodedContent(
        [
            new("grant_type", "authorization_code"),
            new("code", code),
            new("redirect_uri", redirectUri),
            new("client_id", provider.ClientId),
            new("client_secret", provider.ClientSecret),
            new("code_verifier", codeVerifier),
        ]);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Required(provider.TokenUrl)) { Content = content };
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentLength > MaxAnswerBytes)
            {
                LogProviderRefused(_logger, "token", (int)response.StatusCode);
                return null;
            }

            var answer = await ReadBoundedAsync(response, cancellationToken).ConfigureAwait(false);
            if (answer is null)
            {
                LogAnswerTooLarge(_logger, "token", MaxAnswerBytes);
                return null;
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType ?? string.Empty;
            if (mediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
            {
                // Some providers answer in form encoding unless asked for JSON; accept both.
                var form = QueryHelpers.ParseQuery(System.Text.Encoding.UTF8.GetString(answer));
                return form.TryGetValue("access_token", out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
            }

            using var json = JsonDocument.Parse(answer);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("access_token", out var token)
                && token.ValueKind == JsonValueKind.String
                ? token.GetString()
                : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogProviderFailed(_logger, "token", ex);
            return null;
        }
    }

    /// <summary>Reads the login field of the user's profile; returns <c>null</c> (and logs why) when it cannot.</summary>
    public async Task<string?> ReadLoginAsync(OAuth2Options provider, string accessToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Required(provider.ProfileUrl));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentLength > MaxAnswerBytes)
            {
                LogProviderRefused(_logger, "profile", (int)response.StatusCode);
                return null;
            }

            var answer = await ReadBoundedAsync(response, cancellationToken).ConfigureAwait(false);
            if (answer is null)
            {
                LogAnswerTooLarge(_logger, "profile", MaxAnswerBytes);
                return null;
            }

            using var json = JsonDocument.Parse(answer);
            if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty(provider.LoginField, out var field))
            {
                LogLoginFieldMissing(_logger, provider.LoginField);
                return null;
            }

            var login = field.ValueKind switch
            {
                JsonValueKind.String => field.GetString(),
                JsonValueKind.Number => field.GetRawText(),
                _ => null,
            };
            return string.IsNullOrWhiteSpace(login) ? null : login;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogProviderFailed(_logger, "profile", ex);
            return null;
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Reads the answer in chunks, whatever its framing (a chunked answer has no length to check first); <c>null</c> as
    /// soon as it grows past <see cref="MaxAnswerBytes"/>, so a hostile provider cannot make the server hold more.
    /// </summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxAnswerBytes + 1];
            var length = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
                if (length > MaxAnswerBytes)
                {
                    return null;
                }
            }

            return buffer[..length];
        }
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "UI login: the OAuth2 provider's {Endpoint} endpoint answered {Status}")]
    private static partial void LogProviderRefused(ILogger logger, string endpoint, int status);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "UI login: the OAuth2 provider's {Endpoint} endpoint failed")]
    private static partial void LogProviderFailed(ILogger logger, string endpoint, Exception exception);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "UI login: the OAuth2 provider's {Endpoint} answer is larger than {Limit} bytes")]
    private static partial void LogAnswerTooLarge(ILogger logger, string endpoint, int limit);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "UI login: the profile has no string or number field {Field}")]
    private static partial void LogLoginFieldMissing(ILogger logger, string field);
}
