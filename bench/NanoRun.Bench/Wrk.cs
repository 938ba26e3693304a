using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace NanoRun.Bench;

/// <summary>
/// wg/wrk (Debian package <c>wrk</c>) as an external load generator: a timed burst of 1-byte POSTs over keep-alive
/// connections, so the server's memory after a burst is also measured against a driver that is not .NET.
/// </summary>
internal static partial class Wrk
{
    public const string Binary = "/usr/bin/wrk";

    public static bool Installed => File.Exists(Binary);

    /// <summary>Posts 1-byte bodies to <paramref name="unit"/> for <paramref name="duration"/>; returns requests/s and p99 ms.</summary>
    public static async Task<(double Rate, double P99)> PostAsync(HttpClient client, string unit, int connections, TimeSpan duration)
    {
        var script = Path.Combine(Path.GetTempPath(), "nano-run-bench-wrk-" + Guid.NewGuid().ToString("N") + ".lua");
        await File.WriteAllTextAsync(script, "wrk.method = \"POST\"\nwrk.body = \"x\"\n");
        try
        {
            var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[]
            {
                "-t", "2", "-c", connections.ToString(CultureInfo.InvariantCulture),
                "-d", ((int)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s",
                "--latency", "-s", script, new Uri(client.BaseAddress!, $"api/{unit}/").ToString(),
            })
            {
                info.ArgumentList.Add(arg);
            }

            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0 || Rate().Match(output) is not { Success: true } rate)
            {
                throw new InvalidOperationException("wrk failed:\n" + output + await process.StandardError.ReadToEndAsync());
            }

            // wrk counts answers that are not 2xx/3xx as errors; every POST here must be acknowledged.
            if (NonSuccess().Match(output) is { Success: true } failed)
            {
                throw new InvalidOperationException($"wrk saw {failed.Groups[1].Value} answers that are not 2xx or 3xx:\n{output}");
            }

            var p99 = P99().Match(output);
            return (double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture), p99.Success ? Milliseconds(p99.Groups[1].Value, p99.Groups[2].Value) : double.NaN);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static double Milliseconds(string value, string unit)
    {
        var number = double.Parse(value, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => number / 1000,
            "s" => number * 1000,
            _ => number,
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex Rate();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"\s99%\s+([0-9.]+)(us|ms|s)")]
    private static partial Regex P99();
}
