using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using NanoRun.Server.Operations;

namespace NanoRun.Server.Tests.OpenApi;

/// <summary>
/// The OpenAPI document the server embeds (<c>docs/openapi.json</c>), read once, and the rules an answer must follow to
/// be described by it: its status is declared for the path and method, the headers the document marks required are
/// present and every documented header's value fits its schema, and a JSON body is valid against its schema.
/// </summary>
internal sealed class ApiContract
{
    private const string SchemaRoot = "urn:nano-run:openapi";

    private static readonly Lazy<ApiContract> Embedded = new(() =>
    {
        using var stream = OpenApiDocument.Open();
        return new ApiContract(JsonNode.Parse(stream)!.AsObject());
    });

    private readonly JsonObject _document;
    private readonly List<(string Path, string[] Segments, JsonObject Item)> _paths = [];
    private readonly Dictionary<JsonNode, JsonSchema> _schemas = new(ReferenceEqualityComparer.Instance);
    private readonly BuildOptions _build = new() { SchemaRegistry = new SchemaRegistry() };
    private readonly EvaluationOptions _evaluation = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.List };
    private readonly Lock _gate = new();
    private int _schemaCount;

    public ApiContract(JsonObject document)
    {
        _document = document;
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            _paths.Add((path, path.Split('/'), item!.AsObject()));
        }

        // The component schemas become the $defs of one registered root, so each body schema can point into it.
        var defs = document["components"]?["schemas"]?.DeepClone() ?? new JsonObject();
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = SchemaRoot,
            ["$defs"] = Rewrite(defs),
        };
        JsonSchema.FromText(root.ToJsonString(), _build);
    }

    /// <summary>The document served at <c>/api/openapi.json</c>.</summary>
    public static ApiContract Server => Embedded.Value;

    /// <summary>The parsed document.</summary>
    public JsonObject Document => _document;

    /// <summary>The document's path templates with their methods, such as <c>GET /api/{unit}/{id}</c>.</summary>
    public IEnumerable<string> Operations()
    {
        foreach (var (path, _, item) in _paths)
        {
            foreach (var (key, _) in item)
            {
                if (key is "get" or "put" or "post" or "delete" or "patch" or "head" or "options" or "trace")
                {
                    yield return key.ToUpperInvariant() + " " + path;
                }
            }
        }
    }

    /// <summary>
    /// The ways <paramref name="response"/> to <paramref name="method"/> <paramref name="apiPath"/> (a path in the
    /// document's terms, starting <c>/api/</c>) breaks the document; empty when it follows it or the document has no such path.
    /// </summary>
    public async Task<List<string>> CheckAsync(HttpMethod method, string apiPath, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var status = (int)response.StatusCode;
        if (Match(apiPath) is not { } item)
        {
            return problems;
        }

        if (item[method.Method.ToLowerInvariant()] is not JsonObject operation)
        {
            if (response.StatusCode != HttpStatusCode.MethodNotAllowed)
            {
                problems.Add($"{method} is not an operation of {apiPath} in the document, yet it answered {status}, not 405");
            }

            return problems;
        }

        var responses = operation["responses"]!.AsObject();
        var code = status.ToString(CultureInfo.InvariantCulture);
        var declared = responses[code] ?? responses[code[0] + "XX"] ?? responses["default"];
        if (declared is null)
        {
            problems.Add($"status {status} is not declared; the document lists {string.Join(", ", responses.Select(r => r.Key))}");
            return problems;
        }

        var described = Resolve(declared);
        CheckHeaders(described, response, problems);
        await CheckContentAsync(method, described, response, problems, cancellationToken);
        return problems;
    }

    private JsonObject? Match(string apiPath)
    {
        var path = apiPath.Length > 1 && apiPath.EndsWith('/') ? apiPath[..^1] : apiPath;
        var segments = path.Split('/');
        JsonObject? best = null;
        var bestTemplates = int.MaxValue;
        foreach (var (_, template, item) in _paths)
        {
            if (template.Length != segments.Length)
            {
                continue;
            }

            var templates = 0;
            var matches = true;
            for (var i = 0; i < template.Length && matches; i++)
            {
                if (template[i].StartsWith('{'))
                {
                    templates++;
                    matches = segments[i].Length > 0;
                }
                else
                {
                    matches = string.Equals(template[i], segments[i], StringComparison.OrdinalIgnoreCase);
                }
            }

            // A literal segment wins over a template one, as in routing (/api/openapi.json before /api/{unit}).
            if (matches && templates < bestTemplates)
            {
                best = item;
                bestTemplates = templates;
            }
        }

        return best;
    }

    private void CheckHeaders(JsonObject described, HttpResponseMessage response, List<string> problems)
    {
        if (described["headers"] is not JsonObject headers)
        {
            return;
        }

        foreach (var (name, node) in headers)
        {
            var header = Resolve(node!);
            var present = response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values);
            if (!present)
            {
                if (header["required"]?.GetValue<bool>() == true)
                {
                    problems.Add($"required header {name} is missing");
                }

                continue;
            }

            if (header["schema"] is not { } schemaNode)
            {
                continue;
            }

            foreach (var value in values!)
            {
                var instance = IsInteger(schemaNode) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
                    ? JsonSerializer.SerializeToElement(number)
                    : JsonSerializer.SerializeToElement(value);
                var result = SchemaOf(schemaNode).Evaluate(instance, _evaluation);
                if (!result.IsValid)
                {
                    problems.Add($"header {name}: {value} does not fit its schema: {Errors(result)}");
                }
            }
        }
    }

    private async Task CheckContentAsync(HttpMethod method, JsonObject described, HttpResponseMessage response, List<string> problems, CancellationToken cancellationToken)
    {
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is null)
        {
            return;
        }

        if (described["content"] is not JsonObject content)
        {
            problems.Add($"a {mediaType} body is answered where the document describes none");
            return;
        }

        var slash = mediaType.IndexOf('/', StringComparison.Ordinal);
        var media = content[mediaType] ?? content[mediaType[..(slash + 1)] + "*"] ?? content["*/*"];
        if (media is null)
        {
            problems.Add($"content type {mediaType} is not declared; the document lists {string.Join(", ", content.Select(c => c.Key))}");
            return;
        }

        if (!IsJson(mediaType) || media["schema"] is not { } schemaNode || method == HttpMethod.Head)
        {
            return;
        }

        // JSON answers are small; streamed and stored bytes are never read here.
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        JsonElement body;
        try
        {
            using var parsed = JsonDocument.Parse(bytes);
            body = parsed.RootElement.Clone();
        }
        catch (JsonException e)
        {
            problems.Add($"the {mediaType} body is not JSON: {e.Message}");
            return;
        }

        var result = SchemaOf(schemaNode).Evaluate(body, _evaluation);
        if (!result.IsValid)
        {
            problems.Add($"the {mediaType} body does not fit its schema: {Errors(result)}; body: {body.GetRawText()}");
        }
    }

    /// <summary>A schema of the document built once, its <c>#/components/schemas/…</c> references pointing into the registered root.</summary>
    private JsonSchema SchemaOf(JsonNode schema)
    {
        lock (_gate)
        {
            if (!_schemas.TryGetValue(schema, out var built))
            {
                var copy = Rewrite(schema.DeepClone());
                if (copy is JsonObject obj)
                {
                    obj["$schema"] = "https://json-schema.org/draft/2020-12/schema";
                    obj["$id"] = SchemaRoot + ":" + (++_schemaCount).ToString(CultureInfo.InvariantCulture);
                }

                built = JsonSchema.FromText(copy.ToJsonString(), _build);
                _schemas.Add(schema, built);
            }

            return built;
        }
    }

    /// <summary>A response, header or parameter object, following a <c>$ref</c> to the document's components.</summary>
    private JsonObject Resolve(JsonNode node)
    {
        var current = node.AsObject();
        while (current["$ref"] is JsonValue reference)
        {
            JsonNode target = _document;
            foreach (var part in reference.GetValue<string>().TrimStart('#', '/').Split('/'))
            {
                target = target[part] ?? throw new InvalidOperationException("unresolved reference " + reference);
            }

            current = target.AsObject();
        }

        return current;
    }

    private static JsonNode Rewrite(JsonNode node) =>
        JsonNode.Parse(node.ToJsonString().Replace("\"#/components/schemas/", "\"" + SchemaRoot + "#/$defs/", StringComparison.Ordinal))!;

    private bool IsInteger(JsonNode schema)
    {
        var resolved = schema["$ref"] is null ? schema : Resolve(schema);
        return resolved["type"] is JsonValue type && type.GetValue<string>() == "integer";
    }

    private static bool IsJson(string mediaType) =>
        mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal);

    private static string Errors(EvaluationResults result)
    {
        var errors = new List<string>();
        foreach (var detail in result.Details ?? [])
        {
            foreach (var (keyword, message) in detail.Errors ?? new Dictionary<string, string>())
            {
                errors.Add($"{detail.InstanceLocation} {keyword}: {message}");
            }
        }

        return errors.Count == 0 ? "invalid" : string.Join("; ", errors);
    }
}

/// <summary>Thrown into a test when an answer of the API breaks the OpenAPI document.</summary>
internal sealed class ApiContractException(string message) : Exception(message);

/// <summary>
/// Checks every answer of the API against <see cref="ApiContract.Server"/> as the client receives it, and fails the
/// test (with <see cref="ApiContractException"/>) when one breaks the document. Requests outside
/// <c>{path base}{api prefix}/</c> pass unchecked.
/// </summary>
internal sealed class ApiContractHandler(HttpMessageHandler inner, string pathBase = "", string apiPrefix = "/api") : DelegatingHandler(inner)
{
    /// <summary>A client of <paramref name="baseAddress"/> that follows no redirect and checks every API answer.</summary>
    public static HttpClient Client(Uri baseAddress, TimeSpan? timeout = null, string pathBase = "", string apiPrefix = "/api") =>
        new(new ApiContractHandler(new SocketsHttpHandler { AllowAutoRedirect = false }, pathBase, apiPrefix))
        {
            BaseAddress = baseAddress,
            Timeout = timeout ?? TimeSpan.FromSeconds(60),
        };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        var path = request.RequestUri!.AbsolutePath;
        var prefix = pathBase + apiPrefix + "/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return response;
        }

        var apiPath = "/api/" + path[prefix.Length..];
        var problems = await ApiContract.Server.CheckAsync(request.Method, apiPath, response, cancellationToken);
        if (problems.Count > 0)
        {
            var status = (int)response.StatusCode;
            var target = request.RequestUri.PathAndQuery;
            response.Dispose();
            throw new ApiContractException(
                $"{request.Method} {(target.Length > 200 ? target[..200] + "…" : target)} answered {status}, which docs/openapi.json does not describe:\n- " + string.Join("\n- ", problems));
        }

        return response;
    }
}
