using System.CommandLine;
using NanoRun.Configuration;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Server;

/// <summary>
/// The command line: <c>nano-run [server run [-c FILE] [--fail]]</c>, <c>nano-run server init</c> and
/// <c>nano-run run EXECUTABLE [ARGS…]</c>; every flag also reads a <c>NANO_RUN_…</c> variable.
/// </summary>
internal static partial class Cli
{
    public static async Task<int> RunAsync(string[] args)
    {
        var config = new Option<string?>("--config", "-c")
        {
            Description = "server.yaml to load; a named file must exist (env NANO_RUN_CONFIG; default ./server.yaml when present, else the transient default)",
            DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("NANO_RUN_CONFIG") is { Length: > 0 } value ? value : null,
        };
        var fail = new Option<bool>("--fail")
        {
            Description = "fail when the configuration file is missing instead of using the transient default (env NANO_RUN_FAIL)",
            DefaultValueFactory = static _ => IsTrue(Environment.GetEnvironmentVariable("NANO_RUN_FAIL")),
        };

        var logFormat = LogFormatOption();
        var verbose = VerboseOption();
        var run = new Command("run", "Run the server: units from the config folder, the API on the bound address") { config, fail, logFormat, verbose };
        run.SetAction((result, cancellationToken) => ServeConfiguredAsync(result.GetValue(config), result.GetValue(fail), result.GetValue(logFormat), result.GetValue(verbose)));
        var server = new Command("server", "Server commands") { run, InitCommand.Create() };
        var root = new RootCommand("Nano-Run: an asynchronous HTTP request runner. With no command it runs `server run`.") { server, RunCommand.Create(), VersionCommand.Create() };
        foreach (var command in ClientCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        root.SetAction((result, cancellationToken) => ServeConfiguredAsync(
            config.DefaultValueFactory!(null!), fail.DefaultValueFactory!(null!), logFormat.DefaultValueFactory!(null!), verbose.DefaultValueFactory!(null!)));

        // The web host handles SIGINT/SIGTERM itself (graceful shutdown), so the parser must not.
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
        // No response files: `call --data @FILE` names a body, not more arguments.
        var parser = new ParserConfiguration { ResponseFileTokenReplacer = null };
        return await root.Parse(RunCommand.SeparateProgram(args), parser).InvokeAsync(invocation).ConfigureAwait(false);
    }

    /// <summary><c>--verbose</c>, also read from <c>NANO_RUN_VERBOSE</c>: a start-up error prints the whole exception after its one line.</summary>
    public static Option<bool> VerboseOption() =>
        new("--verbose")
        {
            Description = "on a start-up error, print the whole exception after the one-line reason (env NANO_RUN_VERBOSE)",
            DefaultValueFactory = static _ => IsTrue(Environment.GetEnvironmentVariable("NANO_RUN_VERBOSE")),
        };

    /// <summary><c>--log-format text|json</c>, also read from <c>NANO_RUN_LOG_FORMAT</c>; <c>null</c> leaves the configured format.</summary>
    public static Option<string?> LogFormatOption()
    {
        var option = new Option<string?>("--log-format")
        {
            Description = "log lines as plain text or as JSON objects with scopes (env NANO_RUN_LOG_FORMAT; default: server.yaml log_format, else text)",
            DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("NANO_RUN_LOG_FORMAT") is { Length: > 0 } value ? value : null,
        };
        option.AcceptOnlyFromAmong("text", "json");
        return option;
    }

    /// <summary>Whether an environment value means yes: <c>1</c>, <c>true</c> or <c>yes</c>.</summary>
    public static bool IsTrue(string? value) =>
        value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("yes", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Serves <paramref name="units"/> until SIGINT/SIGTERM. A mistake found while starting (listen address, port in use,
    /// TLS files, data folder, store) ends it with one line on stderr and exit code 2 (<see cref="StartupFailed"/>).
    /// </summary>
    public static async Task<int> ServeAsync(ServerOptions options, IReadOnlyList<UnitDefinition> units, string source, bool reloadUnits = false, bool verbose = false, string? configFile = null)
    {
        if (OpenUiGuard.Refusal(options, units, configFile ?? "the command line") is { } refusal)
        {
            await Console.Error.WriteLineAsync("nano-run: " + refusal).ConfigureAwait(false);
            return 2;
        }

        // Everything the server writes is private to its user; units' commands still get the umask it started with.
        PrivateFiles.Restrict();
        var startup = new StartupLog { Quiet = !verbose };
        WebApplication app;
        try
        {
            app = NanoRunHost.Build(options, units, reloadUnits: reloadUnits, startup: startup);
        }
        catch (Exception e)
        {
            return StartupFailed(e, options, verbose);
        }

        await using (app.ConfigureAwait(false))
        {
            try
            {
                await app.StartAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return StartupFailed(e, options, verbose);
            }

            startup.Quiet = false;

            // Start-up leaves its garbage (configuration, dependency injection, routes, the store's first queries) in
            // the heap until enough is allocated to trigger a collection; one compacting collection hands it back to
            // the system before the server idles (idle private memory, docs/benchmarks.md).
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("NanoRun.Server");
            foreach (var address in NanoRunHost.Addresses(app))
            {
                if (options.LogFormat == "json")
                {
                    // JSON mode: every line on the console is one JSON object.
                    LogListening(logger, address, units.Count, source);
                }
                else
                {
                    Console.WriteLine($"nano-run: listening on {address} with {units.Count} units from {source}");
                }
            }

            await app.WaitForShutdownAsync().ConfigureAwait(false);
            return 0;
        }
    }

    /// <summary>
    /// Reports a start-up failure: one line on stderr naming the file, key or address and the reason (the whole exception
    /// follows only with <paramref name="verbose"/>), and returns exit code 2.
    /// </summary>
    public static int StartupFailed(Exception error, ServerOptions? options, bool verbose)
    {
        Console.Error.WriteLine("nano-run: " + OneLine(StartupReason(error, options)));
        if (verbose)
        {
            Console.Error.WriteLine(error.ToString());
        }

        return 2;
    }

    /// <summary>What went wrong at start, in words: the messages that already name their file or address as they are,
    /// the others with the setting they concern.</summary>
    internal static string StartupReason(Exception error, ServerOptions? options)
    {
        while (error is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            error = aggregate.InnerExceptions[0];
        }

        switch (error)
        {
            case StartupException or ConfigFileException:
                return error.Message;
            case System.Data.Common.DbException when options is not null && ServerStorage.For(options).IsShared:
                return $"storage.connection_string: cannot use PostgreSQL at {PostgreSqlAddress(options.StorageConnectionString)}: {Innermost(error)}";
            case IOException when error.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException
                or System.Net.Sockets.SocketException:
                // Kestrel's message names the address: "Failed to bind to address http://127.0.0.1:8989: address already in use."
                return "cannot listen: " + error.Message;
            case UnauthorizedAccessException when options is not null:
                return $"data folder {options.DataDirectory} (working_directory) is not writable: {error.Message}";
            default:
                var reason = Innermost(error);
                return reason == error.Message ? error.Message : $"{error.Message}: {reason}";
        }
    }

    private static string Innermost(Exception error)
    {
        while (error.InnerException is not null)
        {
            error = error.InnerException;
        }

        return error.Message;
    }

    private static string OneLine(string text) =>
        text.ReplaceLineEndings(" ").Trim();

    /// <summary>Host and port of a PostgreSQL connection string, never its password.</summary>
    private static string PostgreSqlAddress(string? connectionString)
    {
        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            return $"{builder.Host}:{builder.Port}";
        }
        catch (ArgumentException)
        {
            return "the configured address";
        }
    }

    private static async Task<int> ServeConfiguredAsync(string? configFile, bool failWhenMissing, string? logFormat, bool verbose)
    {
        ServerOptions options;
        IReadOnlyList<UnitDefinition> units;
        try
        {
            // A file named with -c (or NANO_RUN_CONFIG) must exist; only the implicit ./server.yaml may be missing.
            var named = configFile is not null;
            configFile ??= "server.yaml";
            if (Directory.Exists(configFile))
            {
                throw new StartupException($"configuration file {configFile} is a folder, not a file");
            }

            if (File.Exists(configFile) || named)
            {
                if (!File.Exists(configFile))
                {
                    throw new StartupException($"configuration file {configFile} not found (named by {(Environment.GetEnvironmentVariable("NANO_RUN_CONFIG") == configFile ? "NANO_RUN_CONFIG" : "--config")})");
                }

                options = ServerConfigLoader.LoadFile(configFile);
            }
            else if (failWhenMissing)
            {
                throw new StartupException($"configuration file {configFile} not found (--fail)");
            }
            else
            {
                options = ServerOptions.CreateTransientDefault(Directory.GetCurrentDirectory());
            }

            if (logFormat is not null)
            {
                options.LogFormat = logFormat;
            }

            var file = named || File.Exists(configFile) ? configFile + ": " : string.Empty;
            PrepareFolder($"{file}key 'config_directory'", options.ConfigDirectory, writable: false);
            if (ServerStorage.For(options).UsesDataFolder)
            {
                PrepareFolder($"{file}key 'working_directory'", options.DataDirectory, writable: true);
            }

            units = UnitLoader.LoadDirectory(options.ConfigDirectory);
        }
        catch (Exception e) when (e is StartupException or ConfigFileException or IOException or UnauthorizedAccessException)
        {
            return StartupFailed(e, null, verbose);
        }

        return await ServeAsync(options, units, options.ConfigDirectory, reloadUnits: true, verbose, configFile: File.Exists(configFile) ? configFile : null).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates <paramref name="path"/> when missing; a file in its place, a folder that cannot be created or (when
    /// <paramref name="writable"/>) one this process cannot write to stops start-up with a message naming <paramref name="what"/>.
    /// </summary>
    public static void PrepareFolder(string what, string path, bool writable)
    {
        if (File.Exists(path))
        {
            throw new StartupException($"{what}: {path} is a file, not a folder");
        }

        try
        {
            if (!writable)
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                PrivateFiles.CreateFolder(path);
                // A file created and removed again: the store writes its lock, database and bodies here.
                var probe = Path.Join(path, $".nano-run-write-test-{Environment.ProcessId}");
                using (new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
                {
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"{what}: folder {path} is not {(writable ? "writable" : "usable")}: {e.Message}", e);
        }
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "nano-run: listening on {Address} with {UnitCount} units from {Source}")]
    private static partial void LogListening(ILogger logger, string address, int unitCount, string source);
}
