using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NanoRun.AspNetCore.Ui;

namespace NanoRun.AspNetCore;

/// <summary>Registers the web UI's services.</summary>
public static class UiNanoRunBuilderExtensions
{
    /// <summary>Adds the services of the web UI (antiforgery, the login session and its OAuth2 client); mount it with <c>MapNanoRunUi</c>.</summary>
    public static NanoRunBuilder AddUi(this NanoRunBuilder builder, Action<UiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new UiOptions();
        configure?.Invoke(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PageSize, 1);
        var services = builder.Services;
        services.TryAddSingleton(options);
        services.TryAddSingleton<UiAssets>();
        services.AddAntiforgery();
        if (options.Auth is not null)
        {
            // A named scheme, never the default: a host's own authentication stays as it is.
            services.AddAuthentication().AddCookie(UiSession.Scheme, static cookie =>
            {
                cookie.Cookie.Name = "nano-run-session";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.ExpireTimeSpan = TimeSpan.FromHours(12);
                cookie.SlidingExpiration = true;
            });
            services.TryAddSingleton<OAuth2Client>();
        }

        return builder;
    }
}
