using System.Text.RegularExpressions;
using NanoRun.Configuration;
using NanoRun.Core.Tests;

namespace NanoRun.Server.Tests.Cli;

/// <summary>
/// One list of <c>server.yaml</c> keys (<see cref="ServerConfigKeys"/>, which the loader allows) against the two places a
/// person reads them: the file <c>server init</c> writes and docs/configuration.md, both ways.
/// </summary>
public sealed partial class ServerKeysTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("nano-run-init-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void InitFile_NamesEveryKeyTheLoaderAccepts_AndNoOther()
    {
        var text = WriteInitFile();

        var written = KeysOfYaml(text);

        Assert.Empty(ServerConfigKeys.All().Except(written).Order());
        Assert.Empty(written.Except(ServerConfigKeys.All()).Order());
    }

    [Fact]
    public void InitFile_AsWritten_LoadsToTheDefaults()
    {
        WriteInitFile();

        var loaded = ServerConfigLoader.LoadFile(Path.Combine(_folder, "server.yaml"));

        var defaults = new ServerOptions();
        Assert.Equal(defaults.Bind, loaded.Bind);
        Assert.Equal(defaults.GracefulShutdown, loaded.GracefulShutdown);
        Assert.Equal(defaults.WaitTime, loaded.WaitTime);
        Assert.Equal(defaults.WatchConfigDirectory, loaded.WatchConfigDirectory);
        Assert.Equal(defaults.MinFreeDisk, loaded.MinFreeDisk);
        Assert.Equal(defaults.Retention.MaxAge, loaded.Retention.MaxAge);
        Assert.Equal(defaults.Retention.MaxCount, loaded.Retention.MaxCount);
        Assert.Equal(defaults.LogFormat, loaded.LogFormat);
        Assert.Equal(defaults.Metrics.Enabled, loaded.Metrics.Enabled);
        Assert.Equal(defaults.Metrics.Path, loaded.Metrics.Path);
        Assert.Equal(defaults.StorageProvider, loaded.StorageProvider);
        Assert.Equal(defaults.LeaseDuration, loaded.LeaseDuration);
        Assert.Equal(Path.Combine(_folder, "run"), loaded.DataDirectory);
        Assert.Equal(Path.Combine(_folder, "conf.d"), loaded.ConfigDirectory);
    }

    [Fact]
    public void ConfigurationDocs_DocumentEveryKeyTheLoaderAccepts_AndNoOther()
    {
        var documented = DocumentedServerKeys(File.ReadAllText(RepositoryFolder.Path("docs", "configuration.md")));

        Assert.Empty(ServerConfigKeys.All().Except(documented).Order());
        Assert.Empty(documented.Except(ServerConfigKeys.All()).Order());
    }

    private string WriteInitFile()
    {
        Assert.Equal(0, InitCommand.Initialize(_folder, "server.yaml", noSample: true, force: false));
        return File.ReadAllText(Path.Combine(_folder, "server.yaml"));
    }

    /// <summary>Dotted paths of every key in the file, commented ones (<c># key: value</c>) included, nested by indentation.</summary>
    private static HashSet<string> KeysOfYaml(string text)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var stack = new List<(int Indent, string Key)>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.StartsWith('#') ? raw[1..].StartsWith(' ') ? raw[2..] : raw[1..] : raw;
            var match = YamlKey().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var indent = match.Groups[1].Length;
            stack.RemoveAll(entry => entry.Indent >= indent);
            var path = string.Join('.', stack.Select(entry => entry.Key).Append(match.Groups[2].Value));
            keys.Add(path);
            stack.Add((indent, match.Groups[2].Value));
        }

        return keys;
    }

    /// <summary>
    /// Keys in the tables of the <c>## server.yaml</c> section: the first table holds top-level keys; a line such as
    /// <c>`tls`:</c> before a table names the section its rows belong to. A row may name several keys and dotted ones.
    /// </summary>
    private static HashSet<string> DocumentedServerKeys(string markdown)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var inside = false;
        var prefix = string.Empty;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                inside = line.Trim() == "## server.yaml";
                continue;
            }

            if (!inside)
            {
                continue;
            }

            if (SectionLine().Match(line) is { Success: true } section)
            {
                prefix = section.Groups[1].Value + ".";
                continue;
            }

            if (!line.StartsWith("| `", StringComparison.Ordinal))
            {
                continue;
            }

            var firstCell = line.Split('|')[1];
            foreach (Match key in Backticked().Matches(firstCell))
            {
                var path = prefix + key.Groups[1].Value;
                var parts = path.Split('.');
                for (var i = 1; i <= parts.Length; i++)
                {
                    keys.Add(string.Join('.', parts[..i]));
                }
            }
        }

        return keys;
    }

    [GeneratedRegex(@"^( *)([a-z][a-z0-9_]*):(?: |$)")]
    private static partial Regex YamlKey();

    [GeneratedRegex(@"^`([a-z_]+)`[^|]*:\s*$")]
    private static partial Regex SectionLine();

    [GeneratedRegex(@"`([a-z][a-z0-9_.]*)`")]
    private static partial Regex Backticked();
}
