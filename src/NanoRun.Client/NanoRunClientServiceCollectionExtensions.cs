using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="NanoRunClient"/> as a typed <see cref="HttpClient"/>.</summary>
public static class NanoRunClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="NanoRunClient"/> for the server at <paramref name="baseAddress"/> (its root, such as
    /// <c>http://127.0.0.1:8989/</c>), with no HTTP timeout (bodies may be large; pass cancellation tokens instead)
    /// and redirects not followed. Returns the HTTP client builder for further handlers.
    /// </summary>
    public static IHttpClientBuilder AddNanoRunClient(this IServiceCollection services, Uri baseAddress, Action<NanoRunClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(baseAddress);
        var options = new NanoRunClientOptions();
        configure?.Invoke(options);
        var root = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        return services
            .AddHttpClient(nameof(NanoRunClient), http =>
            {
                http.BaseAddress = root;
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .ConfigurePrimaryHttpMessageHandler(static () => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                AutomaticDecompression = DecompressionMethods.None,
            })
            .AddTypedClient(http => new NanoRunClient(http, options));
    }
}
