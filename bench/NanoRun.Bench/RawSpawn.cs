using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NanoRun.Bench;

/// <summary>
/// The machine's raw process-creation rate: a tight loop of <c>posix_spawn</c> (glibc: vfork + exec) of
/// <c>/bin/sh -c true</c> and <c>waitpid</c>, with no pipes, no .NET <c>Process</c> object and no other work.
/// </summary>
internal static partial class RawSpawn
{
    public static async Task<double> RateAsync(TimeSpan duration, int loops)
    {
        var total = 0L;
        var clock = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, loops).Select(_ => Task.Factory.StartNew(
            () =>
            {
                var path = Marshal.StringToHGlobalAnsi("/bin/sh");
                var argv = new[] { Marshal.StringToHGlobalAnsi("sh"), Marshal.StringToHGlobalAnsi("-c"), Marshal.StringToHGlobalAnsi("true"), IntPtr.Zero };
                var envp = new[] { IntPtr.Zero };
                while (clock.Elapsed < duration)
                {
                    if (posix_spawn(out var pid, path, IntPtr.Zero, IntPtr.Zero, argv, envp) != 0)
                    {
                        throw new InvalidOperationException("posix_spawn failed");
                    }

                    while (waitpid(pid, out _, 0) < 0 && Marshal.GetLastPInvokeError() == 4)
                    {
                        // EINTR: the runtime's SIGCHLD handler interrupted the wait; wait again.
                    }

                    Interlocked.Increment(ref total);
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(threads);
        return total / clock.Elapsed.TotalSeconds;
    }

    /// <summary>The same loop through .NET's <c>Process.Start</c>, for comparison.</summary>
    public static async Task<double> ProcessStartRateAsync(TimeSpan duration, int loops)
    {
        var total = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                using var p = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", "true" } })!;
                await p.WaitForExitAsync();
                Interlocked.Increment(ref total);
            }
        })));
        return total / clock.Elapsed.TotalSeconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawn(out int pid, IntPtr path, IntPtr fileActions, IntPtr attributes, IntPtr[] argv, IntPtr[] envp);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, out int status, int options);
}
