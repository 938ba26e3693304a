using NanoRun.Units;

namespace NanoRun.Runners;

/// <summary>
/// Which request headers reach a command's environment, and under which names. A header is a variable only when
/// an allow rule lets it through, because no list of dangerous names can be complete: interpreters, the loader
/// and common tools each read variables of their own that run code or redirect traffic.
/// </summary>
/// <remarks>
/// <para>
/// Bin mode: <c>X-…</c> headers (<c>X-Foo</c> as <c>X_FOO</c>), the <see cref="FixedHeaders"/>
/// (<c>CONTENT_TYPE</c>, <c>CONTENT_LENGTH</c>, <c>ACCEPT</c>, <c>USER_AGENT</c>) and the headers the unit names in
/// <c>environment_headers</c>. Cgi mode: every header as <c>HTTP_…</c>, as RFC 3875 asks.
/// </para>
/// <para>
/// In both modes a name on the block list (<see cref="IsBlocked"/>) is never set from a request, whatever the unit
/// says, and a header never replaces a variable of the server's environment that the command inherits.
/// </para>
/// </remarks>
internal static class HeaderVariables
{
    /// <summary>Headers other than <c>X-…</c> that every bin-mode command receives, in their usual spelling.</summary>
    public static readonly IReadOnlyList<string> FixedHeaders = ["Content-Type", "Content-Length", "Accept", "User-Agent"];

    private static readonly HashSet<string> FixedVariables = new(StringComparer.Ordinal) { "CONTENT_TYPE", "CONTENT_LENGTH", "ACCEPT", "USER_AGENT" };

    // Variables that change how the shell, the dynamic loader, the C library, an interpreter or a network client
    // behaves: set from a request they run code, load libraries, read other files or send traffic elsewhere.
    private static readonly HashSet<string> BlockedNames = new(StringComparer.Ordinal)
    {
        // shell
        "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND",
        "CDPATH", "GLOBIGNORE", "FPATH", "HISTFILE", "INPUTRC", "MAIL", "MAILPATH", "ZDOTDIR", "HOME", "SHELL",
        "USER", "LOGNAME", "TMPDIR",

        // C library
        "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS", "TZDIR",
        "TERMINFO", "TERMINFO_DIRS",

        // programs that other programs start
        "BROWSER", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "LESSOPEN", "LESSCLOSE", "SSH_ASKPASS", "SUDO_ASKPASS",

        // runtimes
        "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "PHPRC", "PHP_INI_SCAN_DIR",
        "GOFLAGS", "GOPATH", "GOROOT", "GOPROXY", "GOTOOLCHAIN", "GOENV", "GODEBUG", "GOEXPERIMENT", "GOBIN",
        "GOCACHE", "GOMODCACHE", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOINSECURE",

        // trust and credentials
        "KUBECONFIG", "KRB5_CONFIG", "KRB5CCNAME", "NETRC", "WGETRC", "CURL_HOME",
    };

    private static readonly string[] BlockedPrefixes =
    [
        "LD_", "DYLD_", "MALLOC_", "GLIBC_", "GCONV_",
        "PYTHON", "PERL", "NODE_", "NPM_CONFIG_", "RUBY", "GEM_", "BUNDLE_", "LUA_", "TCL", "R_", "CGO_",
        "DOTNET_", "COMPLUS_", "CORECLR_", "JAVA_", "PHP_",
        "GIT_", "SSH_", "SSL_", "OPENSSL_", "CURL_", "REQUESTS_", "XDG_", "BASH_", "AWS_", "DOCKER_",
    ];

    /// <summary>
    /// Whether <paramref name="variable"/> (already upper case, as <see cref="VariableName"/> gives it) is never set
    /// from a request: shell, loader, C library and interpreter settings, every <c>…_PROXY</c>, every <c>NANO_RUN_…</c>
    /// and the server's other secrets (<see cref="CommandEnvironment.IsServerOnly"/>).
    /// </summary>
    public static bool IsBlocked(string variable) => BlockReason(variable) is not null;

    /// <summary>Why a request may never set <paramref name="variable"/>, as a clause for an error message; <c>null</c> when it may.</summary>
    public static string? BlockReason(string variable)
    {
        if (variable.StartsWith(CommandEnvironment.ServerPrefix, StringComparison.Ordinal) || CommandEnvironment.IsServerOnly(variable))
        {
            return "which holds a secret or setting of the server";
        }

        return SteersPrograms(variable) ? "which changes how the shell, the loader, an interpreter or a network client behaves" : null;
    }

    private static bool SteersPrograms(string variable)
    {
        if (BlockedNames.Contains(variable) || variable.EndsWith("_PROXY", StringComparison.Ordinal) || variable == "PROXY")
        {
            return true;
        }

        foreach (var prefix in BlockedPrefixes)
        {
            if (variable.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Maps a header name to a variable name (upper case, <c>-</c> to <c>_</c>), or <c>null</c> when the result is not <c>[A-Z0-9_]+</c>.</summary>
    public static string? VariableName(string header)
    {
        if (header.Length == 0)
        {
            return null;
        }

        foreach (var c in header)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return null;
            }
        }

        return string.Create(header.Length, header, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = c == '-' ? '_' : char.ToUpperInvariant(c);
            }
        });
    }

    /// <summary>
    /// The bin-mode variable for a header, or <c>null</c> when the header does not reach the command:
    /// <c>X-…</c>, the <see cref="FixedHeaders"/> and the unit's <c>environment_headers</c> pass, blocked names never do.
    /// </summary>
    public static string? BinVariable(string header, UnitDefinition unit)
    {
        var name = VariableName(header);
        if (name is null || IsBlocked(name))
        {
            return null;
        }

        if (name.StartsWith("X_", StringComparison.Ordinal) || FixedVariables.Contains(name))
        {
            return name;
        }

        foreach (var allowed in unit.EnvironmentHeaders)
        {
            if (string.Equals(VariableName(allowed), name, StringComparison.Ordinal))
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>The cgi-mode meta-variable <c>HTTP_…</c> for a header, or <c>null</c> when it is not passed (bad name, or a blocked result such as <c>HTTP_PROXY</c>).</summary>
    public static string? CgiVariable(string header)
    {
        var name = VariableName(header);
        if (name is null)
        {
            return null;
        }

        name = "HTTP_" + name;
        return IsBlocked(name) ? null : name;
    }

    /// <summary>
    /// Sets the attempt's trace context under <paramref name="parentName"/> and <paramref name="stateName"/>, replacing
    /// what the client's headers gave, or removes both when the attempt has none, so that a command always sees the
    /// context of its own attempt.
    /// </summary>
    public static void SetTraceContext(IDictionary<string, string?> environment, AttemptContext context, string parentName, string stateName)
    {
        if (context.TraceParent is { } parent)
        {
            environment[parentName] = parent;
        }
        else
        {
            environment.Remove(parentName);
        }

        if (context.TraceParent is not null && context.TraceState is { Length: > 0 } state)
        {
            environment[stateName] = state;
        }
        else
        {
            environment.Remove(stateName);
        }
    }

    /// <summary>How the headers that reach the unit's command are described to people (the UI's unit page), one line each.</summary>
    public static IReadOnlyList<string> Describe(UnitDefinition unit) => unit.Mode switch
    {
        UnitModes.Bin => ["X-… (as X_…)", .. FixedHeaders, .. unit.EnvironmentHeaders],
        UnitModes.Cgi => ["every header as HTTP_…, except Proxy"],
        _ => [],
    };
}
