using System.ComponentModel;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NanoRun.Runners;

/// <summary>
/// A child process started by <c>posix_spawnp</c> as the leader of a new session, so its pid is also the id of a
/// process group that every child and grandchild inherits; stdin, stdout and stderr are pipes to this process.
/// </summary>
/// <remarks>
/// One spawn replaces the fork, the exec of a <c>setsid</c> helper and the exec of the command that starting the shell
/// through <c>setsid</c> would cost; the group exists by the time <see cref="Start"/> returns. The exit is collected by
/// a small dedicated thread blocked in <c>waitpid</c> on this pid alone, so other children of the host are never reaped
/// here. Signal handlers are reset in the child by <c>posix_spawn</c>; signals this process ignores (SIGPIPE) are
/// reset too, and the child starts with no signal blocked.
/// </remarks>
internal sealed unsafe partial class ChildProcess : IDisposable
{
    private const short SpawnSetSignalDefault = 0x04;
    private const short SpawnSetSignalMask = 0x08;
    private const short SpawnSetSession = 0x80;
    private const int CloseOnExec = 0x80000;
    private const int Interrupted = 4; // EINTR
    private const int NoChild = 10; // ECHILD

    // Generous upper bounds of glibc's opaque structures (x86-64: 80, 336 and 128 bytes).
    private const int FileActionsSize = 256;
    private const int AttributesSize = 1024;
    private const int SignalSetSize = 256;

    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(int id, int input, int output, int error)
    {
        Id = id;
        Input = new AnonymousPipeClientStream(PipeDirection.Out, new SafePipeHandle(input, ownsHandle: true));
        Output = new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle(output, ownsHandle: true));
        Error = new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle(error, ownsHandle: true));
    }

    /// <summary>The child's pid, which is also its session and process group id.</summary>
    public int Id { get; }

    /// <summary>The child's stdin; closing it gives the child end of file.</summary>
    public Stream Input { get; }

    /// <summary>The child's stdout.</summary>
    public Stream Output { get; }

    /// <summary>The child's stderr.</summary>
    public Stream Error { get; }

    /// <summary>Completes with the exit code when the child ends: its exit status, or 128 + the signal that killed it.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>Starts <paramref name="file"/> (searched in <c>PATH</c> when it has no slash) with <paramref name="arguments"/> as argv.</summary>
    /// <exception cref="Win32Exception">The pipes could not be made or the program could not be started.</exception>
    public static ChildProcess Start(string file, IReadOnlyList<string> arguments, IEnumerable<KeyValuePair<string, string?>> environment, string? workingDirectory)
    {
        var strings = new List<IntPtr>();
        var pipes = stackalloc int[6] { -1, -1, -1, -1, -1, -1 };
        var actions = NativeMemory.AllocZeroed(FileActionsSize);
        var attributes = NativeMemory.AllocZeroed(AttributesSize);
        var signals = NativeMemory.AllocZeroed(SignalSetSize);
        var actionsReady = false;
        var attributesReady = false;
        try
        {
            // [0,1] stdin, [2,3] stdout, [4,5] stderr; the parent's ends stay close-on-exec, dup2 clears it on the child's.
            for (var i = 0; i < 3; i++)
            {
                if (pipe2(pipes + (2 * i), CloseOnExec) != 0)
                {
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), "cannot make a pipe");
                }
            }

            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            actionsReady = true;
            Check(posix_spawn_file_actions_adddup2(actions, pipes[0], 0), "posix_spawn_file_actions_adddup2");
            Check(posix_spawn_file_actions_adddup2(actions, pipes[3], 1), "posix_spawn_file_actions_adddup2");
            Check(posix_spawn_file_actions_adddup2(actions, pipes[5], 2), "posix_spawn_file_actions_adddup2");
            if (workingDirectory is not null)
            {
                Check(posix_spawn_file_actions_addchdir_np(actions, Utf8(workingDirectory, strings)), "cannot use the working directory " + workingDirectory);
            }

            Check(posix_spawnattr_init(attributes), "posix_spawnattr_init");
            attributesReady = true;
            Check(posix_spawnattr_setflags(attributes, SpawnSetSession | SpawnSetSignalMask | SpawnSetSignalDefault), "posix_spawnattr_setflags");
            _ = sigemptyset(signals);
            Check(posix_spawnattr_setsigmask(attributes, signals), "posix_spawnattr_setsigmask");
            _ = sigfillset(signals);
            Check(posix_spawnattr_setsigdefault(attributes, signals), "posix_spawnattr_setsigdefault");

            var argv = Pointers(arguments, strings);
            var envp = Pointers(EnvironmentLines(environment), strings);
            var path = Utf8(file, strings);
            int pid;
            int error;
            using (Storage.PrivateFiles.ForChild())
            {
                // posix_spawn has no umask attribute: the child inherits ours while the scope holds it.
                error = posix_spawnp(&pid, path, actions, attributes, argv, envp);
            }

            Check(error, "cannot start " + file);

            var child = new ChildProcess(pid, pipes[1], pipes[2], pipes[4]);
            pipes[1] = pipes[2] = pipes[4] = -1;
            var waiter = new Thread(WaitForExit, maxStackSize: 64 * 1024) { IsBackground = true, Name = "nano-run child " + pid };
            waiter.UnsafeStart(child);
            return child;
        }
        finally
        {
            for (var i = 0; i < 6; i++)
            {
                if (pipes[i] >= 0)
                {
                    _ = close(pipes[i]);
                }
            }

            if (actionsReady)
            {
                _ = posix_spawn_file_actions_destroy(actions);
            }

            if (attributesReady)
            {
                _ = posix_spawnattr_destroy(attributes);
            }

            NativeMemory.Free(actions);
            NativeMemory.Free(attributes);
            NativeMemory.Free(signals);
            foreach (var pointer in strings)
            {
                Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    /// <summary>The absolute path of <paramref name="path"/> with every symbolic link resolved, as <c>getcwd</c> in a process
    /// started there reports it; <c>null</c> when it cannot be resolved.</summary>
    public static string? RealPath(string path)
    {
        var text = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            var resolved = realpath((byte*)text, null);
            if (resolved is null)
            {
                return null;
            }

            try
            {
                return Marshal.PtrToStringUTF8((IntPtr)resolved);
            }
            finally
            {
                NativeMemory.Free(resolved);
            }
        }
        finally
        {
            Marshal.FreeCoTaskMem(text);
        }
    }

    public void Dispose()
    {
        Input.Dispose();
        Output.Dispose();
        Error.Dispose();
    }

    private static void WaitForExit(object? state)
    {
        var child = (ChildProcess)state!;
        int status;
        while (true)
        {
            if (waitpid(child.Id, &status, 0) == child.Id)
            {
                break;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error == Interrupted)
            {
                continue;
            }

            // ECHILD: something else in the process collected the status (a host that waits for any child).
            child._exited.TrySetException(new Win32Exception(error, error == NoChild ? "the exit status was collected elsewhere" : "waitpid failed"));
            return;
        }

        // WIFEXITED: no signal in the low 7 bits; the code is in bits 8-15. Otherwise 128 + the terminating signal.
        var signal = status & 0x7f;
        child._exited.TrySetResult(signal == 0 ? (status >> 8) & 0xff : 128 + signal);
    }

    private static IEnumerable<string> EnvironmentLines(IEnumerable<KeyValuePair<string, string?>> environment)
    {
        foreach (var (name, value) in environment)
        {
            if (value is not null)
            {
                yield return name + "=" + value;
            }
        }
    }

    private static byte* Utf8(string text, List<IntPtr> strings)
    {
        var pointer = Marshal.StringToCoTaskMemUTF8(text);
        strings.Add(pointer);
        return (byte*)pointer;
    }

    private static byte** Pointers(IEnumerable<string> texts, List<IntPtr> strings)
    {
        var list = new List<IntPtr>();
        foreach (var text in texts)
        {
            list.Add((IntPtr)Utf8(text, strings));
        }

        var array = (byte**)Marshal.AllocCoTaskMem((list.Count + 1) * sizeof(IntPtr));
        strings.Add((IntPtr)array);
        for (var i = 0; i < list.Count; i++)
        {
            array[i] = (byte*)list[i];
        }

        array[list.Count] = null;
        return array;
    }

    private static void Check(int error, string what)
    {
        if (error != 0)
        {
            throw new Win32Exception(error, what + ": " + Marshal.GetPInvokeErrorMessage(error));
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial byte* realpath(byte* path, byte* resolved);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    private static partial int posix_spawnp(int* pid, byte* file, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_addchdir_np(void* actions, byte* path);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(void* attributes, void* signals);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(void* attributes, void* signals);

    [LibraryImport("libc")]
    private static partial int sigemptyset(void* signals);

    [LibraryImport("libc")]
    private static partial int sigfillset(void* signals);
}
