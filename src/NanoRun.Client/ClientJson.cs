using System.Text.Json.Serialization;

namespace NanoRun.Client;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(NanoRunRecord))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
