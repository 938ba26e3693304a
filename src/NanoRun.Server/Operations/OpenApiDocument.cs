namespace NanoRun.Server.Operations;

/// <summary>
/// Serves the OpenAPI document of the API: <c>docs/openapi.json</c>, embedded in the binary at build time and sent as it
/// is, so the server builds no model of its routes at start or on request and the document a client reads is the one
/// the tests check every answer against.
/// </summary>
internal static class OpenApiDocument
{
    /// <summary>Name of the embedded copy of <c>docs/openapi.json</c>.</summary>
    public const string ResourceName = "NanoRun.Server.openapi.json";

    /// <summary>Opens the embedded document; the stream reads the binary's own image, so nothing is copied to the heap.</summary>
    public static Stream Open() =>
        typeof(OpenApiDocument).Assembly.GetManifestResourceStream(ResourceName)
        ?? throw new InvalidOperationException("the OpenAPI document " + ResourceName + " is not embedded in the server");

    /// <summary>Answers <c>GET /api/openapi.json</c> with the embedded document.</summary>
    public static async Task ServeAsync(HttpContext context)
    {
        var document = Open();
        await using (document.ConfigureAwait(false))
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.ContentLength = document.Length;
            await document.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
