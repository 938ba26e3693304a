using Microsoft.Data.Sqlite;

namespace NanoRun.Storage.Sqlite;

/// <summary>How the embedded store writes times and bodies to columns: times as Unix milliseconds, a body as three
/// columns (key, inline bytes, length).</summary>
internal static class SqliteValues
{
    public static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public static BodyRef ReadBody(SqliteDataReader reader, int keyColumn)
    {
        var length = reader.GetInt64(keyColumn + 2);
        if (!reader.IsDBNull(keyColumn))
        {
            return new BodyRef(reader.GetString(keyColumn), null, length);
        }

        return length == 0 || reader.IsDBNull(keyColumn + 1)
            ? BodyRef.Empty
            : new BodyRef(null, reader.GetFieldValue<byte[]>(keyColumn + 1), length);
    }

    public static void AddBody(SqliteCommand command, string key, string inline, string length, BodyRef body)
    {
        command.Parameters.AddWithValue(key, (object?)body.Key ?? DBNull.Value);
        command.Parameters.AddWithValue(inline, body.Key is null ? body.Inline ?? [] : DBNull.Value);
        command.Parameters.AddWithValue(length, body.Length);
    }
}
