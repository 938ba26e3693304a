using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NanoRun.Storage.Sqlite;

/// <summary>Encodes header pairs as a compact JSON array of <c>[name, value]</c> arrays; no reflection, so AOT-safe.</summary>
internal static class HeaderCodec
{
    private const string EmptyArray = "[]";

    // Relaxed escaping keeps non-ASCII text as UTF-8; the text is never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Encode(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (headers.Count == 0)
        {
            return EmptyArray;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartArray();
            for (var i = 0; i < headers.Count; i++)
            {
                writer.WriteStartArray();
                writer.WriteStringValue(headers[i].Key);
                writer.WriteStringValue(headers[i].Value);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static IReadOnlyList<KeyValuePair<string, string>> Decode(string text)
    {
        if (text == EmptyArray)
        {
            return [];
        }

        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
        var headers = new List<KeyValuePair<string, string>>();
        Expect(ref reader, JsonTokenType.StartArray);
        while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
        {
            var name = ReadString(ref reader);
            var value = ReadString(ref reader);
            Expect(ref reader, JsonTokenType.EndArray);
            headers.Add(new KeyValuePair<string, string>(name, value));
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            throw new InvalidDataException("stored headers are not an array of [name, value] pairs");
        }

        return headers;
    }

    private static string ReadString(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.String);
        return reader.GetString()!;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new InvalidDataException("stored headers are not an array of [name, value] pairs");
        }
    }
}
