using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using NanoRun.AspNetCore;
using NanoRun.Retention;
using NanoRun.Runners;
using NanoRun.Server.Operations;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Server;

/// <summary>Builds the server's web application from <c>server.yaml</c> settings and the loaded units.</summary>
internal static class NanoRunHost
{
    /// <summary>The hosted service by which data protection loads its key ring when the host starts.</summary>
    private const string KeyRingPreload = "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService";

    /// <param name="options">The server settings.</param>
    /// <param name="units">The units to serve at start.</param>
    /// <param name="args">Host arguments.</param>
    /// <param name="reloadUnits">Whether <paramref name="units"/> came from the config folder and follow its changes (and SIGHUP).</param>
    /// <param name="startup">While its <see cref="StartupLog.Quiet"/> is set, the web server's and host's own error lines
    /// (with their stack traces) are left out: the command line reports a failed start in one line.</param>
    public static WebApplication Build(ServerOptions options, IReadOnlyList<UnitDefinition> units, string[]? args = null, bool reloadUnits = false, StartupLog? startup = null)
    {
        ParseBind(options.Bind);
        if (options.Metrics.Enabled && options.Metrics.Bind.Length > 0)
        {
            ParseBind(options.Metrics.Bind);
        }

        PrivateFiles.CreateFolder(options.DataDirectory);
        var certificate = options.Tls is null ? null : LoadCertificate(options.Tls);
        // The host's optional appsettings files would be watched for changes with a recursive watcher over the
        // content root (the working folder, often holding the data folder, or / under systemd) that wakes on every
        // body and result written; the server's settings come from server.yaml, so nothing needs that watch.
        var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args ?? []]);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        if (startup is not null)
        {
            builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", level => level >= LogLevel.Warning && !(startup.Quiet && level >= LogLevel.Error));
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting", level => level >= LogLevel.Information && !(startup.Quiet && level >= LogLevel.Error));
        }

        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.GracefulShutdown + TimeSpan.FromSeconds(10));
        builder.WebHost.UseSockets(sockets => sockets.MaxReadBufferSize = ConnectionLimits.MaxRequestBufferSize);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            ConnectionLimits.Apply(kestrel.Limits);
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections;
            Listen(kestrel, options.Bind, certificate);
            if (options.Metrics.Enabled && options.Metrics.Bind.Length > 0)
            {
                Listen(kestrel, options.Metrics.Bind, null);
            }
        });
        HostOperations.Add(builder, options);

        builder.Services.Configure<RetentionOptions>(retention =>
        {
            retention.MaxAge = options.Retention.MaxAge;
            retention.MaxCount = options.Retention.MaxCount;
        });
        builder.Services.Configure<NanoRun.Callbacks.CallbackOptions>(callbacks => callbacks.AllowNetworks = options.CallbackAllowNetworks);
        var nanoRun = builder.Services.AddNanoRun(
            engine =>
            {
                engine.GracefulShutdown = options.GracefulShutdown;
                engine.LeaseDuration = options.LeaseDuration;
                engine.NodeName = options.NodeName ?? DefaultNodeName(ParseBind(options.Bind).Port);

                // The guard watches the folder a store names (the embedded store names its data folder).
                engine.MinFreeDisk = options.MinFreeDisk;
            },
            api =>
            {
                api.WaitTime = options.WaitTime;
                api.MaxWait = options.MaxWait;
            });
        ServerStorage.For(options).Register(nanoRun, options);
        nanoRun.AddUnits(units);
        if (reloadUnits)
        {
            nanoRun.ReloadUnitsFromDirectory(options.ConfigDirectory, options.WatchConfigDirectory);
            builder.Services.AddHostedService<HangupReload>();
        }

        nanoRun.TrackProcessGroups(Path.Combine(options.DataDirectory, "groups"));
        if (!options.DisableUi)
        {
            AddUi(builder, nanoRun, options);
        }

        var app = builder.Build();
        if (options.NodeName is null && ParseBind(options.Bind).Port == 0)
        {
            // A port the system chose is known only once the server listens.
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                foreach (var address in Addresses(app))
                {
                    app.Services.GetRequiredService<NanoRun.Queue.EngineOptions>().NodeName = DefaultNodeName(new Uri(address).Port);
                    break;
                }
            });
        }

        app.MapNanoRun("/api");
        HostOperations.Map(app, options);
        if (!options.DisableUi)
        {
            app.MapGet("/", static context =>
            {
                context.Response.Redirect("/ui/");
                return Task.CompletedTask;
            });
            app.MapNanoRunUi("/ui");
        }

        return app;
    }

    /// <summary>The UI, with its session and form keys kept in the data folder so logins survive a restart.</summary>
    private static void AddUi(WebApplicationBuilder builder, NanoRunBuilder nanoRun, ServerOptions options)
    {
        nanoRun.AddUi(ui =>
        {
            ui.StaticDirectory = Path.Combine(options.UiDirectory, "static");
            ui.Auth = options.Auth;
            ui.HideProtectedUnits = OpenUiGuard.IsOpenToNetwork(options);
        });
        var keys = Path.Combine(options.DataDirectory, "keys");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(keys);
        }
        else
        {
            Directory.CreateDirectory(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        builder.Services.AddDataProtection().SetApplicationName("nano-run").PersistKeysToFileSystem(new DirectoryInfo(keys));

        // The key ring loads on the first form or login, not at start: preloading it reads (or writes) the key's XML
        // and maps the system's TLS library, which every idle server then keeps resident (docs/benchmarks.md).
        for (var i = builder.Services.Count - 1; i >= 0; i--)
        {
            if (builder.Services[i].ServiceType == typeof(IHostedService) && builder.Services[i].ImplementationType?.FullName == KeyRingPreload)
            {
                builder.Services.RemoveAt(i);
            }
        }

        // The keys are as private as the rest of the data folder; the warning about keys stored unencrypted says nothing new.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
    }

    /// <summary>The addresses Kestrel listens on once started (a bound port 0 shows its real port).</summary>
    /// <summary>A node's name when <c>node_name</c> is not set: the host name and the port it listens on.</summary>
    private static string DefaultNodeName(int port) => Dns.GetHostName() + ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static IReadOnlyCollection<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    /// <summary>Reads the PEM certificate and private key named by <c>tls</c>; any failure names both files.</summary>
    private static X509Certificate2 LoadCertificate(TlsOptions tls)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new StartupException($"tls: cannot load certificate {tls.CertFile} with key {tls.KeyFile}: {e.Message}", e);
        }
    }

    /// <summary>Listens on <c>host:port</c>: an IP address, <c>localhost</c>, or an empty host for every interface; HTTPS when a certificate is given.</summary>
    private static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string bind, X509Certificate2? certificate)
    {
        Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions> configure = listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        };

        var (host, port) = ParseBind(bind);
        if (host.Length == 0 || host == "*" || host == "0.0.0.0")
        {
            kestrel.ListenAnyIP(port, configure);
        }
        else if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(port, configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(host), port, configure);
        }
    }

    /// <summary>Host and port of a listen address <c>host:port</c>; anything Kestrel cannot listen on is a <see cref="StartupException"/> naming it.</summary>
    public static (string Host, int Port) ParseBind(string bind)
    {
        var colon = bind.LastIndexOf(':');
        var host = (colon < 0 ? bind : bind[..colon]).Trim('[', ']');
        var port = 8989;
        if (colon >= 0 && (!int.TryParse(bind.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port > 65535))
        {
            throw new StartupException($"bind {bind}: the port must be a number from 0 to 65535");
        }

        if (host.Length > 0 && host != "*" && !host.Equals("localhost", StringComparison.OrdinalIgnoreCase) && !IPAddress.TryParse(host, out _))
        {
            throw new StartupException($"bind {bind}: the host must be an IP address, localhost, * or empty (every interface), not a name ('{host}')");
        }

        return (host, port);
    }
}
