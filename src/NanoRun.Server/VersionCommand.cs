using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;

namespace NanoRun.Server;

/// <summary>
/// <c>nano-run version [--verbose]</c>: the product version, and with <c>--verbose</c> the runtime and the garbage
/// collector's effective settings, which decide how much memory the server keeps after bursts.
/// </summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var verbose = new Option<bool>("--verbose")
        {
            Description = "also print the runtime and the garbage collector's effective settings",
        };
        var command = new Command("version", "Print the version (with --verbose: runtime and garbage collector settings)") { verbose };
        command.SetAction(result =>
        {
            foreach (var line in Lines(result.GetValue(verbose)))
            {
                Console.WriteLine(line);
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The lines <c>version</c> prints: the version first, then (verbose) <c>runtime:</c> and one <c>gc NAME: VALUE</c>
    /// per setting the GC reports, among them <c>GCGen0MaxBudget</c>, the youngest generation's effective budget in bytes.
    /// </summary>
    public static IEnumerable<string> Lines(bool verbose)
    {
        // The same text as --version: the version, with +COMMIT when built from a git checkout.
        yield return "nano-run " + (typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
        if (!verbose)
        {
            yield break;
        }

        yield return string.Create(CultureInfo.InvariantCulture, $"runtime: {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier}, {Environment.ProcessorCount} CPUs");
        var settings = GC.GetConfigurationVariables();
        var names = new List<string>(settings.Keys);
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"gc {name}: {settings[name]}");
        }
    }
}
