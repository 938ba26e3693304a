using System.Globalization;
using Microsoft.AspNetCore.Http;
using NanoRun.Admission;

namespace NanoRun.AspNetCore.Api;

/// <summary>The one place an admission refusal becomes an HTTP answer, for the API and the UI alike.</summary>
internal static class AdmissionResponses
{
    /// <summary>
    /// 429 for <c>rate</c>, 503 for <c>max_queue</c> and <c>min_free_disk</c>, 507 when the disk filled up while saving,
    /// 413 for a body over <c>max_request</c>, 409 when the request under the same key vanished, 404 for an unknown unit.
    /// </summary>
    public static int StatusCode(AdmissionResult result) => result.Outcome switch
    {
        AdmissionOutcome.Admitted or AdmissionOutcome.Replayed => StatusCodes.Status200OK,
        AdmissionOutcome.RateLimited => StatusCodes.Status429TooManyRequests,
        AdmissionOutcome.DiskFull => StatusCodes.Status507InsufficientStorage,
        AdmissionOutcome.TooLarge => StatusCodes.Status413PayloadTooLarge,
        AdmissionOutcome.Conflict => StatusCodes.Status409Conflict,
        AdmissionOutcome.UnknownUnit => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status503ServiceUnavailable,
    };

    /// <summary>Sets the status and, when sending later can help, <c>Retry-After</c> (whole seconds, at least 1) of a refusal; the caller writes the body.</summary>
    public static void SetHead(HttpResponse response, AdmissionResult result)
    {
        response.StatusCode = StatusCode(result);
        if (result.RetryAfter > TimeSpan.Zero)
        {
            response.Headers.RetryAfter = RetryAfterSeconds(result).ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Answers a refusal as a problem document: status, <c>Retry-After</c> and the reason as its detail.</summary>
    public static Task WriteAsync(HttpContext context, AdmissionResult result)
    {
        SetHead(context.Response, result);
        return ProblemResponses.WriteAsync(context, StatusCode(result), result.Reason);
    }

    public static long RetryAfterSeconds(AdmissionResult result) => Math.Max(1, (long)Math.Ceiling(result.RetryAfter.TotalSeconds));
}
