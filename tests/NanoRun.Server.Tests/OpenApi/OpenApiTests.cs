using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using NanoRun.Core.Tests;

namespace NanoRun.Server.Tests.OpenApi;

/// <summary>The OpenAPI document: served as checked in, readable by a generator, and covering every API route the server maps.</summary>
public sealed class OpenApiTests
{
    [Fact]
    public async Task OpenApi_ServedDocument_IsTheCheckedInFileByteForByte()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        using var response = await world.Client.GetAsync("api/openapi.json");
        var served = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllBytesAsync(RepositoryFolder.Path("docs", "openapi.json")), served);
    }

    [Fact]
    public async Task OpenApi_CheckedInDocument_ReadsAsOpenApi31WithoutErrors()
    {
        await using var file = File.OpenRead(RepositoryFolder.Path("docs", "openapi.json"));

        var settings = new OpenApiReaderSettings();
        var result = await OpenApiDocument.LoadAsync(file, "json", settings);

        Assert.NotNull(result.Document);
        Assert.Empty(result.Diagnostic?.Errors ?? []);
        Assert.Empty(result.Diagnostic?.Warnings ?? []);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, result.Diagnostic?.SpecificationVersion);
    }

    [Fact]
    public async Task OpenApi_Document_DescribesEveryMappedApiRouteAndNoOther()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        var mapped = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in world.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            if (!pattern.StartsWith("/api/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            {
                mapped.Add(method + " " + pattern);
            }
        }

        var documented = new SortedSet<string>(ApiContract.Server.Operations(), StringComparer.Ordinal);

        Assert.NotEmpty(mapped);
        Assert.Equal(string.Join("\n", mapped), string.Join("\n", documented));
    }

    [Fact]
    public void OpenApi_EveryOperation_HasAnIdAndDeclaresBadRequestForAnUnroutablePath()
    {
        var paths = ApiContract.Server.Document["paths"]!.AsObject();

        foreach (var (path, item) in paths)
        {
            foreach (var (method, operation) in item!.AsObject().Where(p => p.Key != "parameters"))
            {
                Assert.True(operation!["operationId"] is JsonValue, $"{method} {path} has no operationId");
                if (path.Contains('{', StringComparison.Ordinal))
                {
                    Assert.True(operation["responses"]!["400"] is not null, $"{method} {path} does not declare 400");
                }
            }
        }
    }
}
