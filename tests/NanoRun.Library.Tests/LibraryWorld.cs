using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NanoRun.AspNetCore;
using NanoRun.Client;
using NanoRun.Storage.Sqlite;

namespace NanoRun.Library.Tests;

/// <summary>One test's world: a temp folder and a plain WebApplication on a loopback port hosting the library, with a client.</summary>
internal sealed class LibraryWorld : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LibraryWorld(string root, WebApplication app, Uri baseAddress)
    {
        Root = root;
        _app = app;
        BaseAddress = baseAddress;
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };
        Client = new NanoRunClient(Http);
    }

    public string Root { get; }

    public Uri BaseAddress { get; }

    /// <summary>A plain HTTP client of the host (redirects not followed).</summary>
    public HttpClient Http { get; }

    /// <summary>A Nano-Run client over <see cref="Http"/>, without credentials.</summary>
    public NanoRunClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Generous for a loaded two-core machine.</summary>
    public static TimeSpan Patience { get; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Starts a host: <c>AddNanoRun().UseSqlite(temp)</c>, then <paramref name="units"/>, then <c>MapNanoRun(prefix)</c>
    /// (<c>/api</c> by default) passed to <paramref name="map"/>; with <paramref name="pathBase"/>, the host serves below it (<c>UsePathBase</c>).
    /// </summary>
    public static async Task<LibraryWorld> StartAsync(
        Action<NanoRunBuilder> units,
        Action<RouteGroupBuilderAccess>? map = null,
        Action<IServiceCollection>? services = null,
        Action<NanoRun.Queue.EngineOptions>? engine = null,
        string prefix = "/api",
        string? pathBase = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "nano-run-lib-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        services?.Invoke(builder.Services);
        var nanoRun = builder.Services.AddNanoRun(options =>
        {
            options.GracefulShutdown = TimeSpan.FromSeconds(2);
            engine?.Invoke(options);
        }).UseSqlite(Path.Combine(root, "data"));
        units(nanoRun);
        var app = builder.Build();
        if (pathBase is not null)
        {
            // Routing must run after the path base is taken off, so it is placed explicitly.
            app.UsePathBase(pathBase);
            app.UseRouting();
        }

        var group = app.MapNanoRun(prefix);
        map?.Invoke(new RouteGroupBuilderAccess(app, group));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LibraryWorld(root, app, new Uri(address + "/"));
    }

    /// <summary>A client that sends <paramref name="token"/> with every call.</summary>
    public NanoRunClient ClientWithToken(string token) => new(Http, new NanoRunClientOptions { Token = token });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Http.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>What a test's map step sees: the app (for middleware) and the group <c>MapNanoRun</c> returned.</summary>
internal sealed record RouteGroupBuilderAccess(WebApplication App, Microsoft.AspNetCore.Routing.RouteGroupBuilder Group);

/// <summary>A test authentication scheme: a request with <c>X-Test-User: NAME</c> is that user, any other is anonymous.</summary>
internal sealed class TestUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "test-user";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue("X-Test-User", out var user) || string.IsNullOrEmpty(user))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user!)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
