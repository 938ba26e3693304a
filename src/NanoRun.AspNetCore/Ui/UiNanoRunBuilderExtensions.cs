using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NanoRun.AspNetCore.Ui;

namespace NanoRun.AspNetCore;

/// <summary>Registers the web UI's services.</summary>
public static class UiNanoRunBuilderExtensions
{
    /// <summary>
    /// Adds the services of the web UI (antiforgery, the login session and its OAuth2 client); mount it with
    /// <c>MapNanoRunUi</c>. <see cref="UiOptions"/> is an <see cref="IOptions{TOptions}"/>: <paramref name="configure"/>
    /// and any <c>services.Configure&lt;UiOptions&gt;(…)</c> all apply, and the values are checked when the host starts.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddNanoRun</c>.</param>
    /// <param name="configure">Sets <see cref="UiOptions"/>; default none.</param>
    public static NanoRunBuilder AddUi(this NanoRunBuilder builder, Action<UiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<UiOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UiOptions>, WebOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        if (services.Any(static service => service.ServiceType == typeof(UiOptions)))
        {
            return builder;
        }

        services.AddSingleton(static sp => sp.GetRequiredService<IOptions<UiOptions>>().Value);
        services.TryAddSingleton<UiAssets>();
        services.AddAntiforgery();

        // The login session's scheme exists only when the resolved options turn login on, so a UI without login adds no
        // authentication step to the host's requests. A named scheme, never the default: a host's own authentication
        // stays as it is.
        services.AddAuthentication();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CookieAuthenticationOptions>, PostConfigureCookieAuthenticationOptions>());
        services.TryAddTransient<CookieAuthenticationHandler>();
        services.Configure<CookieAuthenticationOptions>(UiSession.Scheme, static cookie =>
        {
            cookie.Cookie.Name = "nano-run-session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(12);
            cookie.SlidingExpiration = true;
        });
        services.AddOptions<AuthenticationOptions>().Configure<IOptions<UiOptions>>(static (authentication, ui) =>
        {
            if (ui.Value.Auth is not null && !authentication.SchemeMap.ContainsKey(UiSession.Scheme))
            {
                authentication.AddScheme<CookieAuthenticationHandler>(UiSession.Scheme, null);
            }
        });
        services.TryAddSingleton<OAuth2Client>();
        return builder;
    }
}
