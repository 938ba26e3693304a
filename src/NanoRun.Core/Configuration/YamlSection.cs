using System.Globalization;
using NanoRun.Units;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace NanoRun.Configuration;

/// <summary>Builds the exception type of one kind of configuration file.</summary>
internal delegate ConfigFileException ConfigErrorFactory(string fileName, string? key, string reason, int line, int column, Exception? innerException);

/// <summary>
/// One YAML mapping of a configuration file, read key by key with typed getters.
/// Every failure names the file, the dotted key path and the line, so a user can fix the file without guessing.
/// </summary>
/// <remarks>
/// This walks YamlDotNet's representation model rather than deserializing into types: it needs no
/// reflection (safe for Native AOT and trimming), and it keeps each value's position and path for errors.
/// </remarks>
internal sealed class YamlSection
{
    private readonly YamlMappingNode _node;
    private readonly string _path;
    private readonly string _fileName;
    private readonly ConfigErrorFactory _error;

    private YamlSection(YamlMappingNode node, string path, string fileName, ConfigErrorFactory error)
    {
        _node = node;
        _path = path;
        _fileName = fileName;
        _error = error;
    }

    /// <summary>
    /// Parses <paramref name="yamlText"/> into its root section, or an empty root for a file with no document or only
    /// a null value; throws for invalid YAML, several documents or a root that is not a mapping.
    /// </summary>
    public static YamlSection Load(string yamlText, string fileName, ConfigErrorFactory error)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new DepthLimitedParser(new Parser(new StringReader(yamlText))));
        }
        catch (YamlException ex)
        {
            throw error(fileName, null, "invalid YAML: " + WithoutPosition(ex.Message), (int)ex.Start.Line, (int)ex.Start.Column, ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these for some malformed input (plain scalars, control characters) instead of a YamlException.
            throw error(fileName, null, "invalid YAML: " + ex.Message, 0, 0, ex);
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            throw error(fileName, null, "holds more than one YAML document", (int)second.Line, (int)second.Column, null);
        }

        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            return new YamlSection(new YamlMappingNode(), string.Empty, fileName, error);
        }

        var root = stream.Documents[0].RootNode;
        if (root is not YamlMappingNode mapping)
        {
            throw error(fileName, null, $"must be a mapping of keys to values, got {Describe(root)}", (int)root.Start.Line, (int)root.Start.Column, null);
        }

        return new YamlSection(mapping, string.Empty, fileName, error);
    }

    /// <summary>Throws for the first key that is not one of <paramref name="allowed"/>, naming the keys that are.</summary>
    public void AllowOnly(params ReadOnlySpan<string> allowed)
    {
        foreach (var (key, _) in _node.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
            {
                throw Error(key, _path.Length == 0 ? null : _path, "keys must be plain names");
            }

            var known = false;
            foreach (var candidate in allowed)
            {
                if (string.Equals(candidate, name, StringComparison.Ordinal))
                {
                    known = true;
                    break;
                }
            }

            if (!known)
            {
                throw Error(key, KeyPath(name), $"unknown key; expected one of: {string.Join(", ", allowed.ToArray())}");
            }
        }
    }

    /// <summary>The dotted path of <paramref name="key"/> in this section.</summary>
    public string KeyPath(string key) => _path.Length == 0 ? key : _path + "." + key;

    /// <summary>Whether <paramref name="key"/> is present with a non-null value.</summary>
    public bool Has(string key) => Find(key) is not null;

    /// <summary>The 1-based line and column of <paramref name="key"/>'s value, or of this section when it is absent.</summary>
    public (int Line, int Column) PositionOf(string key)
    {
        var node = (YamlNode?)Find(key) ?? _node;
        return ((int)node.Start.Line, (int)node.Start.Column);
    }

    /// <summary>An error about <paramref name="key"/>, placed at its value (or at this section when it is absent).</summary>
    public ConfigFileException Error(string key, string reason) => Error((YamlNode?)Find(key) ?? _node, KeyPath(key), reason);

    /// <summary>An error about item <paramref name="index"/> of the list under <paramref name="key"/>, with a path such as <c>tokens[1]</c>.</summary>
    public ConfigFileException ItemError(string key, int index, string reason)
    {
        YamlNode at = Find(key) is YamlSequenceNode sequence && index < sequence.Children.Count ? sequence.Children[index] : _node;
        return Error(at, $"{KeyPath(key)}[{index}]", reason);
    }

    /// <summary>The scalar text of <paramref name="key"/>, or <c>null</c> when absent or null; numbers and booleans come back as written.</summary>
    public string? GetString(string key) => FindScalar(key)?.Value;

    /// <summary>The text of <paramref name="key"/> with surrounding white space removed; throws when present but blank.</summary>
    public string? GetNonEmptyString(string key)
    {
        var text = GetString(key);
        if (text is null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            throw Error(key, "must not be empty");
        }

        return text.Trim();
    }

    /// <summary>A boolean (<c>true</c>/<c>false</c>, also <c>yes</c>/<c>no</c> and <c>on</c>/<c>off</c>); <paramref name="fallback"/> when absent.</summary>
    public bool GetBool(string key, bool fallback)
    {
        var node = FindScalar(key);
        if (node is null)
        {
            return fallback;
        }

        return node.Value?.ToUpperInvariant() switch
        {
            "TRUE" or "YES" or "ON" or "Y" => true,
            "FALSE" or "NO" or "OFF" or "N" => false,
            _ => throw Error(node, KeyPath(key), $"must be true or false, got '{node.Value}'"),
        };
    }

    /// <summary>
    /// A whole number of any size; <paramref name="fallback"/> when absent. The range is left to the model's rules
    /// (<c>UnitRules</c>), which name the same file and key.
    /// </summary>
    public long GetWholeNumber(string key, long fallback)
    {
        var node = FindScalar(key);
        if (node is null)
        {
            return fallback;
        }

        return long.TryParse(node.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Error(node, KeyPath(key), $"must be a whole number, got '{node.Value}'");
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; <paramref name="fallback"/> when absent.</summary>
    public long GetInteger(string key, long fallback, long min, long max)
    {
        var node = FindScalar(key);
        if (node is null)
        {
            return fallback;
        }

        if (!long.TryParse(node.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || value < min || value > max)
        {
            var range = max == long.MaxValue ? $"{min} or more" : $"from {min} to {max}";
            throw Error(node, KeyPath(key), $"must be a whole number {range}, got '{node.Value}'");
        }

        return value;
    }

    /// <summary>
    /// A duration in Go syntax (a bare integer is nanoseconds), or <c>null</c> when absent; throws when it is
    /// malformed, negative, or zero while <paramref name="allowZero"/> is <c>false</c>.
    /// </summary>
    public TimeSpan? GetDuration(string key, bool allowZero)
    {
        var node = FindScalar(key);
        if (node is null)
        {
            return null;
        }

        var text = node.Value ?? string.Empty;
        if (!GoDuration.TryParse(text.Trim(), out var value))
        {
            throw Error(node, KeyPath(key), $"must be a duration such as 300ms, 1.5h or 2h45m (a bare integer is nanoseconds), got '{text}'");
        }

        if (value < TimeSpan.Zero)
        {
            throw Error(node, KeyPath(key), $"must not be negative, got '{text}'");
        }

        if (!allowZero && value == TimeSpan.Zero)
        {
            throw Error(node, KeyPath(key), $"must be greater than zero, got '{text}'");
        }

        return value;
    }

    /// <summary>The mapping under <paramref name="key"/>, or <c>null</c> when absent or null.</summary>
    public YamlSection? GetSection(string key)
    {
        var node = Find(key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlMappingNode mapping)
        {
            throw Error(node, KeyPath(key), $"must be a mapping of keys to values, got {Describe(node)}");
        }

        return new YamlSection(mapping, KeyPath(key), _fileName, _error);
    }

    /// <summary>The mappings listed under <paramref name="key"/>, with paths such as <c>cron[1]</c>; empty when absent.</summary>
    public IReadOnlyList<YamlSection> GetSectionList(string key)
    {
        var sequence = FindSequence(key);
        if (sequence is null)
        {
            return [];
        }

        var sections = new List<YamlSection>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            var path = $"{KeyPath(key)}[{i}]";
            if (IsNull(item))
            {
                sections.Add(new YamlSection(new YamlMappingNode(), path, _fileName, _error));
                continue;
            }

            if (item is not YamlMappingNode mapping)
            {
                throw Error(item, path, $"must be a mapping of keys to values, got {Describe(item)}");
            }

            sections.Add(new YamlSection(mapping, path, _fileName, _error));
        }

        return sections;
    }

    /// <summary>The texts listed under <paramref name="key"/>; empty when absent; throws for nested lists or mappings and null items.</summary>
    public IReadOnlyList<string> GetStringList(string key)
    {
        var sequence = FindSequence(key);
        if (sequence is null)
        {
            return [];
        }

        var items = new List<string>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            if (item is not YamlScalarNode scalar || IsNull(item))
            {
                throw Error(item, $"{KeyPath(key)}[{i}]", $"must be a single text value, got {Describe(item)}");
            }

            items.Add(scalar.Value ?? string.Empty);
        }

        return items;
    }

    /// <summary>
    /// The name-to-text mapping under <paramref name="key"/>; empty when absent. Numbers and booleans are taken as
    /// written and a null value is empty text; nested lists or mappings are errors.
    /// </summary>
    public IReadOnlyDictionary<string, string> GetStringMap(string key)
    {
        var node = Find(key);
        if (node is null)
        {
            return new Dictionary<string, string>();
        }

        if (node is not YamlMappingNode mapping)
        {
            throw Error(node, KeyPath(key), $"must be a mapping of names to values, got {Describe(node)}");
        }

        var map = new Dictionary<string, string>(mapping.Children.Count, StringComparer.Ordinal);
        foreach (var (name, value) in mapping.Children)
        {
            if (name is not YamlScalarNode { Value: { Length: > 0 } text } || IsNull(name))
            {
                throw Error(name, KeyPath(key), "names must be non-empty plain text");
            }

            if (value is not YamlScalarNode scalar)
            {
                throw Error(value, $"{KeyPath(key)}.{text}", $"must be a single text value, got {Describe(value)}");
            }

            map[text] = IsNull(scalar) ? string.Empty : scalar.Value ?? string.Empty;
        }

        return map;
    }

    private YamlNode? Find(string key)
    {
        foreach (var (name, value) in _node.Children)
        {
            if (name is YamlScalarNode { Value: { } text } && string.Equals(text, key, StringComparison.Ordinal))
            {
                return IsNull(value) ? null : value;
            }
        }

        return null;
    }

    private YamlScalarNode? FindScalar(string key)
    {
        var node = Find(key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlScalarNode scalar)
        {
            throw Error(node, KeyPath(key), $"must be a single value, got {Describe(node)}");
        }

        return scalar;
    }

    private YamlSequenceNode? FindSequence(string key)
    {
        var node = Find(key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw Error(node, KeyPath(key), $"must be a list, got {Describe(node)}");
        }

        return sequence;
    }

    private ConfigFileException Error(YamlNode at, string? keyPath, string reason) =>
        _error(_fileName, keyPath, reason, (int)at.Start.Line, (int)at.Start.Column, null);

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode scalar
        && ((!scalar.Tag.IsEmpty && scalar.Tag.Value == "tag:yaml.org,2002:null")
            || (scalar.Style == ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL"));

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode scalar when IsNull(scalar) => "nothing",
        YamlScalarNode scalar => $"'{scalar.Value}'",
        _ => "an unsupported value",
    };

    // YamlException messages start with "(Line: 1, Col: 2, Idx: 1) - (Line: ...): "; the position is reported separately.
    private static string WithoutPosition(string message)
    {
        var marker = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith('(') && marker > 0 ? message[(marker + 3)..] : message;
    }

    /// <summary>Refuses collections nested deeper than <see cref="MaxDepth"/>: the node model is built recursively, and a
    /// hostile file of a few hundred KiB of <c>[</c> would otherwise overflow the stack and end the process.</summary>
    private sealed class DepthLimitedParser(IParser inner) : IParser
    {
        /// <summary>Far deeper than any configuration file needs, far shallower than the stack allows.</summary>
        private const int MaxDepth = 64;

        private int _depth;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            if (!inner.MoveNext())
            {
                return false;
            }

            switch (inner.Current)
            {
                case MappingStart or SequenceStart when ++_depth > MaxDepth:
                    throw new YamlException(inner.Current.Start, inner.Current.End, $"collections are nested more than {MaxDepth} levels deep");
                case MappingEnd or SequenceEnd:
                    _depth--;
                    break;
            }

            return true;
        }
    }
}
