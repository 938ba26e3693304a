using System.Buffers;

namespace NanoRun.Runners;

/// <summary>
/// Decides whether a unit's command can be executed directly, without <c>/bin/sh -c</c>, and splits it into argv:
/// the way GNU make's fast path does, a command with no shell syntax runs the same either way, minus one process.
/// </summary>
/// <remarks>
/// A command goes through the shell when any character could mean something to it (quotes, redirections, pipes,
/// variables, globs, comments, tilde, assignments, escapes, line breaks and the like), or when its first word is a shell
/// keyword or builtin, whose meaning may differ from a program of the same name. <c>true</c> and <c>false</c> alone
/// behave identically either way and stay direct. Words are separated by spaces and tabs.
/// </remarks>
internal static class DirectCommand
{
    // Anything the POSIX shell may interpret; a command holding one of these runs through the shell.
    private static readonly SearchValues<char> ShellCharacters = SearchValues.Create("|&;<>()$`\\\"'*?[]#~=%{}!\n\r\v\f");

    private static readonly HashSet<string> ShellWords = new(StringComparer.Ordinal)
    {
        // Reserved words.
        "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in", "select", "then", "until", "while",

        // Builtins of dash and bash: they act on the shell itself or differ from the program of the same name.
        ".", ":", "[", "alias", "bg", "break", "builtin", "cd", "chdir", "command", "continue", "declare", "echo", "eval", "exec",
        "exit", "export", "fc", "fg", "getopts", "hash", "jobs", "kill", "let", "local", "printf", "pwd", "read", "readonly",
        "return", "set", "shift", "source", "test", "times", "trap", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
    };

    /// <summary>Fills <paramref name="argv"/> with the command's words and returns <c>true</c> when it can run without a shell.</summary>
    public static bool TrySplit(string command, List<string> argv)
    {
        argv.Clear();
        if (command.AsSpan().IndexOfAny(ShellCharacters) >= 0)
        {
            return false;
        }

        var rest = command.AsSpan();
        while (true)
        {
            rest = rest.TrimStart(" \t");
            if (rest.IsEmpty)
            {
                break;
            }

            var end = rest.IndexOfAny(' ', '\t');
            var word = end < 0 ? rest : rest[..end];
            argv.Add(word.ToString());
            rest = end < 0 ? [] : rest[end..];
        }

        if (argv.Count == 0)
        {
            return false;
        }

        var first = argv[0];
        if (ShellWords.Contains(first))
        {
            argv.Clear();
            return false;
        }

        if (first is "true" or "false" && argv.Count > 1)
        {
            // /bin/true --help prints help; the builtin ignores its arguments.
            argv.Clear();
            return false;
        }

        return true;
    }

    /// <summary>
    /// Finds the program <paramref name="name"/> as the shell would: a name with a slash is used as it is, other names are
    /// looked up in the directories of <paramref name="path"/> (the child's <c>PATH</c>). Returns <c>null</c> when the
    /// search cannot be made the same way (no <c>PATH</c>, a relative entry) or finds nothing, so the shell runs it
    /// and reports the error in its usual words.
    /// </summary>
    public static string? Resolve(string name, string? path)
    {
        if (name.Contains('/'))
        {
            return name;
        }

        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        foreach (var range in path.AsSpan().Split(':'))
        {
            var folder = path.AsSpan()[range];
            if (folder.IsEmpty || folder[0] != '/')
            {
                // An empty or relative entry searches the working directory: leave that to the shell.
                return null;
            }

            var candidate = Path.Join(folder, name);
            if (IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExecutableFile(string candidate)
    {
        try
        {
            var info = new FileInfo(candidate);
            return info.Exists
                && (info.UnixFileMode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
