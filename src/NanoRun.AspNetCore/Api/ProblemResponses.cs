using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NanoRun.Storage;
using Microsoft.AspNetCore.WebUtilities;

namespace NanoRun.AspNetCore.Api;

/// <summary>
/// The one writer of the API's error answers: every 4xx and 5xx of <c>/api</c> is an RFC 9457
/// <c>application/problem+json</c> document with <c>type</c>, <c>title</c>, <c>status</c>, <c>detail</c> and, when the
/// route names them, the <c>unit</c> and <c>id</c> extension members. Headers set before (<c>Retry-After</c>,
/// <c>WWW-Authenticate</c>, <c>X-Correlation-Id</c>) are kept.
/// </summary>
internal static partial class ProblemResponses
{
    /// <summary>The media type of every error answer.</summary>
    public const string ContentType = "application/problem+json";

    /// <summary>The <c>type</c> of a problem that has no more specific meaning than its status code.</summary>
    public const string Blank = "about:blank";

    /// <summary>Writes a problem answer of <paramref name="status"/>; <paramref name="type"/> defaults to <see cref="Blank"/>.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string detail, string? type = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-store";
        var buffer = new MemoryStream();
        await using (buffer.ConfigureAwait(false))
        {
            var writer = new Utf8JsonWriter(buffer);
            await using (writer.ConfigureAwait(false))
            {
                writer.WriteStartObject();
                writer.WriteString("type", type ?? Blank);
                writer.WriteString("title", ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error");
                writer.WriteNumber("status", status);
                writer.WriteString("detail", detail);
                if (context.Request.RouteValues["unit"] is string unit)
                {
                    writer.WriteString("unit", unit);
                }

                if (context.Request.RouteValues["id"] is string id)
                {
                    writer.WriteString("id", id);
                }

                writer.WriteEndObject();
            }

            response.ContentLength = buffer.Length;
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                buffer.Position = 0;
                await buffer.CopyToAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Wraps an API handler so that an error status it set without a body (a refusal of the unit's authorization, for
    /// one) still answers a problem document. An answer with a body or a length of its own, such as an attempt's stored
    /// 502 replayed as it was recorded, is left alone.
    /// </summary>
    /// <remarks>A store that cannot be reached (a database restarting or away) is answered 503 with <c>Retry-After</c>, never a 500.</remarks>
    public static RequestDelegate Around(RequestDelegate handler) => async context =>
    {
        try
        {
            await handler(context).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFaults.IsUnavailable(e) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            LogStoreUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProblemResponses)), context.Request.Path.Value ?? string.Empty, e);
            context.Response.Clear();
            context.Response.Headers.RetryAfter = ((long)StoreFaults.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "the store cannot be reached now; try again later").ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        if (response.StatusCode >= 400 && !response.HasStarted && response.ContentLength is null && string.IsNullOrEmpty(response.ContentType))
        {
            await WriteAsync(context, response.StatusCode, DefaultDetail(response.StatusCode)).ConfigureAwait(false);
        }
    };

    [LoggerMessage(EventId = 4205, Level = LogLevel.Warning, Message = "{Path}: the store cannot be reached; answered 503")]
    private static partial void LogStoreUnavailable(ILogger logger, string path, Exception exception);

    private static string DefaultDetail(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "the unit needs credentials; none were sent or they are not accepted here",
        StatusCodes.Status403Forbidden => "the credentials were understood and refused",
        StatusCodes.Status404NotFound => "no such public unit or request",
        _ => ReasonPhrases.GetReasonPhrase(status),
    };
}
