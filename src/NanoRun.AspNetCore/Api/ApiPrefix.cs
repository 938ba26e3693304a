using Microsoft.AspNetCore.Http;

namespace NanoRun.AspNetCore.Api;

/// <summary>Endpoint metadata that remembers the prefix <c>MapNanoRun</c> was given, so answers can name API paths absolutely.</summary>
internal sealed class ApiPrefix
{
    /// <summary>Keeps <paramref name="prefix"/> as <c>/segment…</c> without a trailing slash (empty for the root).</summary>
    public ApiPrefix(string prefix)
    {
        var trimmed = prefix.Trim('/');
        Value = trimmed.Length == 0 ? string.Empty : "/" + trimmed;
    }

    /// <summary>The prefix, such as <c>/api</c>.</summary>
    public string Value { get; }

    /// <summary>The prefix of the endpoint serving <paramref name="context"/>; <c>/api</c> when it carries none.</summary>
    public static string Of(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<ApiPrefix>()?.Value ?? "/api";
}
