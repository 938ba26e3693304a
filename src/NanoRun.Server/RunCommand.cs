using System.CommandLine;
using System.Globalization;
using System.Text;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Server;

/// <summary><c>nano-run run [flags] EXECUTABLE [ARGS…]</c>: serves one unit <c>main</c> for a program (or an upstream URL), no files needed.</summary>
internal static class RunCommand
{
    private const string Name = "run";

    // Flags of `run` that take a value; the first other token starts the program.
    private static readonly string[] ValueFlags = ["--bind", "--directory", "-d", "--attempts", "--interval", "--concurrency", "--mode", "--log-format"];

    public static Command Create()
    {
        var bind = Flag("--bind", "listen address host:port", "NANO_RUN_BIND", "127.0.0.1:8989");
        var directory = Flag("--directory", "data folder of the embedded store", "NANO_RUN_DIRECTORY", "run", "-d");
        var attempts = Flag("--attempts", "maximum attempts per request", "NANO_RUN_ATTEMPTS", "3");
        var interval = Flag("--interval", "pause between attempts (Go duration)", "NANO_RUN_INTERVAL", "5s");
        var concurrency = Flag("--concurrency", "attempts running at once; 0 = number of CPUs", "NANO_RUN_CONCURRENCY", "1");
        var mode = Flag("--mode", "bin, cgi or proxy (EXECUTABLE is then the upstream URL)", "NANO_RUN_MODE", "bin");
        var logFormat = Cli.LogFormatOption();
        var verbose = Cli.VerboseOption();
        var program = new Argument<string[]>("EXECUTABLE")
        {
            Description = "the program and its arguments (bin, cgi), or the upstream URL (proxy)",
            Arity = ArgumentArity.OneOrMore,
        };

        var command = new Command(Name, "Serve one unit 'main' at /api/main/ for the given program or URL, no files needed")
        {
            bind, directory, attempts, interval, concurrency, mode, logFormat, verbose, program,
        };
        command.SetAction((result, cancellationToken) =>
        {
            var errors = new List<string>();
            var unit = BuildUnit(
                result.GetValue(program)!,
                result.GetValue(mode)!,
                result.GetValue(attempts)!,
                result.GetValue(interval)!,
                result.GetValue(concurrency)!,
                errors);
            if (unit is null)
            {
                foreach (var error in errors)
                {
                    Console.Error.WriteLine("nano-run run: " + error);
                }

                return Task.FromResult(2);
            }

            var dataDirectory = Path.GetFullPath(result.GetValue(directory)!);
            try
            {
                Cli.PrepareFolder("--directory", dataDirectory, writable: true);
            }
            catch (StartupException e)
            {
                return Task.FromResult(Cli.StartupFailed(e, null, result.GetValue(verbose)));
            }

            var options = new ServerOptions
            {
                Bind = result.GetValue(bind)!,
                DataDirectory = dataDirectory,
                ConfigDirectory = dataDirectory,
                LogFormat = result.GetValue(logFormat) ?? "text",
            };
            return Cli.ServeAsync(options, [unit], "the command line", verbose: result.GetValue(verbose));
        });
        return command;
    }

    /// <summary>
    /// Inserts <c>--</c> before the program of <c>nano-run run</c> so that the program's own flags
    /// (<c>nano-run run ls -la</c>) are never read as Nano-Run's; other command lines are returned unchanged.
    /// </summary>
    public static string[] SeparateProgram(string[] args)
    {
        if (args.Length < 2 || args[0] != Name)
        {
            return args;
        }

        for (var i = 1; i < args.Length; i++)
        {
            var token = args[i];
            if (token == "--")
            {
                return args;
            }

            if (!token.StartsWith('-') || token == "-")
            {
                return [.. args[..i], "--", .. args[i..]];
            }

            if (Array.IndexOf(ValueFlags, token) >= 0)
            {
                i++;
            }
        }

        return args;
    }

    /// <summary>The unit <c>main</c> for the given flags, or <c>null</c> with the reasons in <paramref name="errors"/>.</summary>
    public static UnitDefinition? BuildUnit(string[] program, string modeText, string attemptsText, string intervalText, string concurrencyText, List<string> errors)
    {
        var mode = modeText.Trim().ToUpperInvariant() switch
        {
            "BIN" => UnitModes.Bin,
            "CGI" => UnitModes.Cgi,
            "PROXY" => UnitModes.Proxy,
            _ => null,
        };
        if (mode is null)
        {
            errors.Add($"--mode must be bin, cgi or proxy, got '{modeText}'");
        }

        if (!int.TryParse(attemptsText, NumberStyles.None, CultureInfo.InvariantCulture, out var attempts) || attempts < 1)
        {
            errors.Add($"--attempts must be a whole number of at least 1, got '{attemptsText}'");
        }

        if (!GoDuration.TryParse(intervalText, out var interval) || interval < TimeSpan.Zero)
        {
            errors.Add($"--interval must be a duration such as 5s or 1m30s, got '{intervalText}'");
        }

        if (!int.TryParse(concurrencyText, NumberStyles.None, CultureInfo.InvariantCulture, out var concurrency))
        {
            errors.Add($"--concurrency must be a whole number (0 = number of CPUs), got '{concurrencyText}'");
        }

        string command;
        if (mode == UnitModes.Proxy)
        {
            command = program[0];
            if (program.Length != 1)
            {
                errors.Add("proxy mode takes exactly one URL and no arguments");
            }
            else if (!Uri.TryCreate(command, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
            {
                errors.Add($"proxy mode needs an absolute http or https URL, got '{command}'");
            }
        }
        else
        {
            command = ShellCommand(program);
        }

        if (errors.Count > 0)
        {
            return null;
        }

        var unit = new UnitDefinition
        {
            Name = "main",
            Command = command,
            Mode = mode!,
            Attempts = attempts,
            Interval = interval,
            Workers = concurrency,
        };
        try
        {
            unit.Validate();
        }
        catch (InvalidOperationException e)
        {
            errors.Add(e.Message);
            return null;
        }

        return unit;
    }

    /// <summary>Joins a program and its arguments into a <c>/bin/sh</c> command that runs exactly them, quoting each word.</summary>
    public static string ShellCommand(IReadOnlyList<string> words)
    {
        var command = new StringBuilder();
        foreach (var word in words)
        {
            if (command.Length > 0)
            {
                command.Append(' ');
            }

            if (word.Length > 0 && IsSafe(word))
            {
                command.Append(word);
                continue;
            }

            // Inside single quotes nothing is special; a quote itself closes, escapes and reopens.
            command.Append('\'').Append(word.Replace("'", "'\\''", StringComparison.Ordinal)).Append('\'');
        }

        return command.ToString();
    }

    private static bool IsSafe(string word)
    {
        foreach (var c in word)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.' or '/' or ',' or ':' or '=' or '+' or '@' or '%'))
            {
                return false;
            }
        }

        return true;
    }

    private static Option<string> Flag(string name, string description, string variable, string fallback, params string[] aliases) =>
        new(name, aliases)
        {
            Description = $"{description}; default {fallback} (env {variable})",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : fallback,
        };
}
