using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Net.Http.Headers;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The UI's stylesheet, script and icon: built into the assembly, each replaceable by a file of the same name in <see cref="UiOptions.StaticDirectory"/>.</summary>
internal sealed class UiAssets : IDisposable
{
    private const string ResourcePrefix = "NanoRun.Ui.";

    private readonly PhysicalFileProvider? _overrides;
    private readonly FileExtensionContentTypeProvider _contentTypes = new();
    private readonly string _buildTag;

    public UiAssets(UiOptions options)
    {
        if (options.StaticDirectory is { } folder && Directory.Exists(folder))
        {
            // Dot files and hidden files are never served; the provider also refuses paths that leave the folder.
            _overrides = new PhysicalFileProvider(Path.GetFullPath(folder), ExclusionFilters.Sensitive);
        }

        _buildTag = typeof(UiAssets).Assembly.ManifestModule.ModuleVersionId.ToString("N")[..16];
    }

    /// <summary>Answers <c>GET {prefix}/static/{file}</c>: the override when present, else the built-in asset, else 404.</summary>
    public async Task ServeAsync(HttpContext context)
    {
        var file = context.Request.RouteValues["file"] as string ?? string.Empty;
        var response = context.Response;
        if (!_contentTypes.TryGetContentType(file, out var contentType))
        {
            contentType = "application/octet-stream";
        }

        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.CacheControl = "no-cache";
        if (_overrides?.GetFileInfo(file) is { Exists: true, IsDirectory: false } info)
        {
            var etag = string.Create(CultureInfo.InvariantCulture, $"\"f{info.LastModified.ToUnixTimeMilliseconds():x}-{info.Length:x}\"");
            if (NotModified(context, etag))
            {
                return;
            }

            response.ContentType = contentType;
            response.ContentLength = info.Length;
            await response.SendFileAsync(info, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var stream = IsResourceName(file) ? typeof(UiAssets).Assembly.GetManifestResourceStream(ResourcePrefix + file) : null;
        if (stream is null)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await using (stream.ConfigureAwait(false))
        {
            if (NotModified(context, "\"b" + _buildTag + "\""))
            {
                return;
            }

            response.ContentType = contentType;
            response.ContentLength = stream.Length;
            await stream.CopyToAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    public void Dispose() => _overrides?.Dispose();

    private static bool NotModified(HttpContext context, string etag)
    {
        context.Response.Headers.ETag = etag;
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return true;
        }

        return false;
    }

    /// <summary>Built-in assets have plain names: letters, digits, <c>-</c> and one extension.</summary>
    private static bool IsResourceName(string file)
    {
        if (file.Length is 0 or > 64 || file[0] == '.')
        {
            return false;
        }

        foreach (var c in file)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
