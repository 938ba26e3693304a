using System.Text;

namespace NanoRun.Configuration;

/// <summary>A configuration file that cannot be read, parsed or validated; the message names the file, the key and the reason.</summary>
public class ConfigFileException : InvalidOperationException
{
    /// <summary>Creates the exception; the message is made of the file, the key, the position when known and the reason.</summary>
    /// <param name="fileName">The file as the caller named it.</param>
    /// <param name="key">The dotted key path, or <c>null</c> for the whole file.</param>
    /// <param name="reason">What is wrong.</param>
    /// <param name="line">1-based line, or 0 when unknown.</param>
    /// <param name="column">1-based column, or 0 when unknown.</param>
    /// <param name="innerException">The error that caused it, if any.</param>
    public ConfigFileException(string fileName, string? key, string reason, int line = 0, int column = 0, Exception? innerException = null)
        : base(Describe(fileName, key, reason, line, column), innerException)
    {
        FileName = fileName;
        Key = key;
        Reason = reason;
        Line = line;
        Column = column;
    }

    /// <summary>The file as the caller named it.</summary>
    public string FileName { get; }

    /// <summary>Dotted key path such as <c>authorization.jwt.secret</c> or <c>cron[1].spec</c>, or <c>null</c> for the whole file.</summary>
    public string? Key { get; }

    /// <summary>What is wrong, without the file and key.</summary>
    public string Reason { get; }

    /// <summary>1-based line of the offending text, or 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending text, or 0 when unknown.</summary>
    public int Column { get; }

    private static string Describe(string fileName, string? key, string reason, int line, int column)
    {
        var text = new StringBuilder(fileName).Append(": ");
        if (key is not null)
        {
            text.Append("key '").Append(key).Append("': ");
        }

        text.Append(reason);
        if (line > 0)
        {
            text.Append(" (line ").Append(line).Append(", column ").Append(column).Append(')');
        }

        return text.ToString();
    }
}
