using Npgsql;
using NpgsqlTypes;

namespace NanoRun.Storage.PostgreSql;

/// <summary>Typed parameters and column readers shared by the store and the blob store.</summary>
internal static class Sql
{
    public static NpgsqlCommand Command(NpgsqlConnection connection, string text, NpgsqlTransaction? transaction = null) =>
        new(text, connection, transaction);

    public static NpgsqlBatchCommand BatchCommand(string text) => new(text);

    public static void Text(this NpgsqlParameterCollection parameters, string name, string? value) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });

    public static void Int(this NpgsqlParameterCollection parameters, string name, int value) =>
        parameters.Add(new NpgsqlParameter<int>(name, NpgsqlDbType.Integer) { TypedValue = value });

    public static void Long(this NpgsqlParameterCollection parameters, string name, long value) =>
        parameters.Add(new NpgsqlParameter<long>(name, NpgsqlDbType.Bigint) { TypedValue = value });

    public static void Time(this NpgsqlParameterCollection parameters, string name, DateTimeOffset? value) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = value is { } v ? v.ToUniversalTime() : DBNull.Value });

    public static void Bytes(this NpgsqlParameterCollection parameters, string name, byte[]? value) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Bytea) { Value = (object?)value ?? DBNull.Value });

    public static void TextArray(this NpgsqlParameterCollection parameters, string name, string[] value) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = value });

    /// <summary>Adds a body as three parameters: key, inline bytes and length (an empty inline body when it has neither).</summary>
    public static void Body(this NpgsqlParameterCollection parameters, string prefix, BodyRef body)
    {
        parameters.Text(prefix + "_key", body.Key);
        parameters.Bytes(prefix + "_inline", body.Key is null ? body.Inline ?? [] : null);
        parameters.Long(prefix + "_length", body.Length);
    }

    /// <summary>Adds headers as parallel name and value arrays.</summary>
    public static void Headers(this NpgsqlParameterCollection parameters, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var names = new string[headers.Count];
        var values = new string[headers.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = headers[i].Key;
            values[i] = headers[i].Value;
        }

        parameters.TextArray("header_names", names);
        parameters.TextArray("header_values", values);
    }

    public static IReadOnlyList<KeyValuePair<string, string>> ReadHeaders(NpgsqlDataReader reader, int namesOrdinal)
    {
        var names = reader.GetFieldValue<string[]>(namesOrdinal);
        var values = reader.GetFieldValue<string[]>(namesOrdinal + 1);
        if (names.Length != values.Length)
        {
            throw new InvalidDataException("stored header names and values differ in count");
        }

        var headers = new KeyValuePair<string, string>[names.Length];
        for (var i = 0; i < headers.Length; i++)
        {
            headers[i] = new KeyValuePair<string, string>(names[i], values[i]);
        }

        return headers;
    }

    /// <summary>Reads key, inline bytes and length starting at <paramref name="keyOrdinal"/>.</summary>
    public static BodyRef ReadBody(NpgsqlDataReader reader, int keyOrdinal)
    {
        var length = reader.GetInt64(keyOrdinal + 2);
        if (!reader.IsDBNull(keyOrdinal))
        {
            return new BodyRef(reader.GetString(keyOrdinal), null, length);
        }

        return length == 0 ? BodyRef.Empty : new BodyRef(null, reader.GetFieldValue<byte[]>(keyOrdinal + 1), length);
    }

    public static DateTimeOffset ReadTime(NpgsqlDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static DateTimeOffset? ReadNullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
}
