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
        var config = new Option<string>("--config", "-c")
        {
            Description = "server.yaml to load (env NANO_RUN_CONFIG)",
            DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("NANO_RUN_CONFIG") ?? "server.yaml",
        };
        var fail = new Option<bool>("--fail")
        {
            Description = "fail when the configuration file is missing instead of using the transient default (env NANO_RUN_FAIL)",
            DefaultValueFactory = static _ => IsTrue(Environment.GetEnvironmentVariable("NANO_RUN_FAIL")),
        };

        var logFormat = LogFormatOption();
        var run = new Command("run", "Run the server: units from the config folder, the API on the bound address") { config, fail, logFormat };
        run.SetAction((result, cancellationToken) => ServeConfiguredAsync(result.GetValue(config)!, result.GetValue(fail), result.GetValue(logFormat)));
        var server = new Command("server", "Server commands") { run, InitCommand.Create() };
        var root = new RootCommand("Nano-Run: an asynchronous HTTP request runner. With no command it runs `server run`.") { server, RunCommand.Create() };
        foreach (var command in ClientCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        root.SetAction((result, cancellationToken) => ServeConfiguredAsync(config.DefaultValueFactory!(null!), fail.DefaultValueFactory!(null!), logFormat.DefaultValueFactory!(null!)));

        // The web host handles SIGINT/SIGTERM itself (graceful shutdown), so the parser must not.
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
        // No response files: `call --data @FILE` names a body, not more arguments.
        var parser = new ParserConfiguration { ResponseFileTokenReplacer = null };
        return await root.Parse(RunCommand.SeparateProgram(args), parser).InvokeAsync(invocation).ConfigureAwait(false);
    }

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

    /// <summary>Serves <paramref name="units"/> until SIGINT/SIGTERM; a unit that cannot start (such as an unknown <c>user</c>) ends it with exit code 2.</summary>
    public static async Task<int> ServeAsync(ServerOptions options, IReadOnlyList<UnitDefinition> units, string source, bool reloadUnits = false)
    {
        if (OpenUiGuard.Refusal(options, units) is { } refusal)
        {
            await Console.Error.WriteLineAsync("nano-run: " + refusal).ConfigureAwait(false);
            return 2;
        }

        // Everything the server writes is private to its user; units' commands still get the umask it started with.
        PrivateFiles.Restrict();
        try
        {
            await using var app = NanoRunHost.Build(options, units, reloadUnits: reloadUnits);
            try
            {
                await app.StartAsync().ConfigureAwait(false);
            }
            catch (ConfigFileException e)
            {
                await Console.Error.WriteLineAsync("nano-run: " + e.Message).ConfigureAwait(false);
                return 2;
            }

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
        catch (TlsCertificateException e)
        {
            await Console.Error.WriteLineAsync("nano-run: " + e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync("nano-run: " + e.Message).ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> ServeConfiguredAsync(string configFile, bool failWhenMissing, string? logFormat)
    {
        ServerOptions options;
        IReadOnlyList<UnitDefinition> units;
        try
        {
            if (File.Exists(configFile))
            {
                options = ServerConfigLoader.LoadFile(configFile);
            }
            else if (failWhenMissing)
            {
                await Console.Error.WriteLineAsync($"nano-run: configuration file {configFile} not found").ConfigureAwait(false);
                return 2;
            }
            else
            {
                options = ServerOptions.CreateTransientDefault(Directory.GetCurrentDirectory());
            }

            if (logFormat is not null)
            {
                options.LogFormat = logFormat;
            }

            Directory.CreateDirectory(options.ConfigDirectory);
            PrivateFiles.CreateFolder(options.DataDirectory);
            units = UnitLoader.LoadDirectory(options.ConfigDirectory);
        }
        catch (ConfigFileException e)
        {
            await Console.Error.WriteLineAsync("nano-run: " + e.Message).ConfigureAwait(false);
            return 2;
        }

        return await ServeAsync(options, units, options.ConfigDirectory, reloadUnits: true).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "nano-run: listening on {Address} with {UnitCount} units from {Source}")]
    private static partial void LogListening(ILogger logger, string address, int unitCount, string source);
}
