namespace NanoRun.Server.Tests.Tracing;

/// <summary>
/// Reads the spans out of an OTLP <c>ExportTraceServiceRequest</c> in protobuf wire format, following the field numbers of
/// opentelemetry-proto's trace.proto (resource_spans 1 → resource 1 → attributes 1, and resource_spans 1 → scope_spans 2
/// → spans 2; a span's trace_id 1, span_id 2, parent_span_id 4, name 5, attributes 9; a KeyValue's key 1 and value 2; an
/// AnyValue's string_value 1).
/// </summary>
internal static class OtlpPayload
{
    public static List<OtlpSpan> Spans(byte[] request)
    {
        var spans = new List<OtlpSpan>();
        foreach (var resourceSpans in Fields(request, 1))
        {
            var resource = Fields(resourceSpans, 1).SingleOrDefault() is { } r ? Attributes(r, 1) : new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                foreach (var span in Fields(scopeSpans, 2))
                {
                    spans.Add(new OtlpSpan(
                        Convert.ToHexStringLower(Fields(span, 1).Single()),
                        Convert.ToHexStringLower(Fields(span, 2).Single()),
                        Fields(span, 4).Select(Convert.ToHexStringLower).SingleOrDefault() ?? string.Empty,
                        Text(Fields(span, 5).Single()),
                        Attributes(span, 9),
                        resource));
                }
            }
        }

        return spans;
    }

    /// <summary>The string-valued KeyValue pairs in field <paramref name="number"/> of a message.</summary>
    private static Dictionary<string, string> Attributes(byte[] message, int number)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var keyValue in Fields(message, number))
        {
            var key = Text(Fields(keyValue, 1).Single());
            var value = Fields(keyValue, 2).SingleOrDefault();
            var text = value is null ? null : Fields(value, 1).Select(Text).SingleOrDefault();
            if (text is not null)
            {
                attributes[key] = text;
            }
        }

        return attributes;
    }

    private static string Text(byte[] bytes) => System.Text.Encoding.UTF8.GetString(bytes);

    /// <summary>The length-delimited values of field <paramref name="number"/> in one message; other fields are skipped by wire type.</summary>
    private static List<byte[]> Fields(byte[] message, int number)
    {
        var found = new List<byte[]>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = Varint(message, ref position);
            var (field, wireType) = ((int)(tag >> 3), (int)(tag & 7));
            switch (wireType)
            {
                case 0:
                    Varint(message, ref position);
                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint(message, ref position);
                    if (field == number)
                    {
                        found.Add(message[position..(position + length)]);
                    }

                    position += length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wireType} at byte {position}");
            }
        }

        return found;
    }

    private static ulong Varint(byte[] message, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}

/// <summary>One exported span: ids in lower-case hex, its name, its string attributes and those of the resource (the node) that sent it.</summary>
internal sealed record OtlpSpan(string TraceId, string SpanId, string ParentSpanId, string Name, Dictionary<string, string> Attributes, Dictionary<string, string> Resource);
