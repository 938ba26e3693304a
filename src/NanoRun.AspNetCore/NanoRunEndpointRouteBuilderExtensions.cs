using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using NanoRun.AspNetCore.Api;

namespace NanoRun.AspNetCore;

/// <summary>Mounts the Nano-Run HTTP API.</summary>
public static class NanoRunEndpointRouteBuilderExtensions
{
    private const string Tag = "requests";

    /// <summary>
    /// Maps <c>{prefix}/{unit}/</c> and its request routes (docs/api.md); returns the route group so hosts can add
    /// conventions such as <c>RequireAuthorization()</c> or rate limiting on top of each unit's own authorization.
    /// </summary>
    public static RouteGroupBuilder MapNanoRun(this IEndpointRouteBuilder endpoints, string prefix = "/api")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(prefix);
        group.WithMetadata(new ApiPrefix(prefix));
        // A literal segment wins over {unit}: GET {prefix}/nodes is the node list, never the list of a unit named "nodes".
        group.MapGet("/nodes", ProblemResponses.Around(NodeEndpoints.ListAsync))
            .Describe(NodeEndpoints.ListAsync, "ListNodes", "The nodes serving the store with version, start time, last heartbeat, running attempts and units; authorized like the UI")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/{unit}", ProblemResponses.Around(RequestEndpoints.EnqueueAsync))
            .Describe(RequestEndpoints.EnqueueAsync, "Enqueue", "Save the request and queue it; 303 to its record, with the id in X-Correlation-Id")
            .Responds(StatusCodes.Status303SeeOther, StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound,
                StatusCodes.Status409Conflict, StatusCodes.Status410Gone, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable, StatusCodes.Status507InsufficientStorage);
        group.MapPut("/{unit}", ProblemResponses.Around(RequestEndpoints.EnqueueAndWaitAsync))
            .Describe(RequestEndpoints.EnqueueAndWaitAsync, "EnqueueAndWait", "Save and queue the request, then wait (query wait, default wait_time) for its final outcome: 303 to /completed, or 504 when still processing")
            .Responds(StatusCodes.Status303SeeOther, StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound,
                StatusCodes.Status409Conflict, StatusCodes.Status410Gone, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable, StatusCodes.Status504GatewayTimeout, StatusCodes.Status507InsufficientStorage);
        group.MapGet("/{unit}", ProblemResponses.Around(RecordEndpoints.ListAsync))
            .Describe(RecordEndpoints.ListAsync, "List", "The unit's requests, newest first, paged; filter by state (e.g. state=failed for dead letters) or search with q (id prefix or a whole header value)")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        group.MapPost("/{unit}/failed/retry", ProblemResponses.Around(RecordEndpoints.ReplayFailedAsync))
            .Describe(RecordEndpoints.ReplayFailedAsync, "ReplayFailed", "Queue a new request for each failed request of the unit, in a bounded batch")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        group.MapUnitControl();
        group.MapPost("/{unit}/cancel", ProblemResponses.Around(RecordEndpoints.CancelQueuedAsync))
            .Describe(RecordEndpoints.CancelQueuedAsync, "CancelQueued", "Cancel up to 1000 queued requests of the unit, earliest first, in one call; tells how many and whether more remain")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        group.MapGet("/{unit}/{id}", ProblemResponses.Around(RecordEndpoints.GetRecordAsync))
            .Describe(RecordEndpoints.GetRecordAsync, "GetRecord", "The request's record with its attempts as JSON; X-Status tells complete or processing")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        group.MapGet("/{unit}/{id}/completed", ProblemResponses.Around(RecordEndpoints.GetCompletedAsync))
            .Describe(RecordEndpoints.GetCompletedAsync, "GetCompleted", "301 to the final attempt once the request is complete, 425 while it is processing")
            .Responds(StatusCodes.Status301MovedPermanently, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, 425);
        group.MapGet("/{unit}/{id}/attempt/{attemptId}", ProblemResponses.Around(RecordEndpoints.GetAttemptAsync))
            .Describe(RecordEndpoints.GetAttemptAsync, "GetAttempt", "The attempt's own status code, content headers and body, served sandboxed")
            .Responds("application/octet-stream", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        group.MapGet("/{unit}/{id}/attempt/{attemptId}/stream", ProblemResponses.Around(StreamEndpoints.StreamAttemptAsync))
            .Describe(StreamEndpoints.StreamAttemptAsync, "StreamAttempt", "Follows the attempt's output as it is produced (chunked text/plain) and ends when the attempt ends")
            .Responds("text/plain", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        group.MapGet("/{unit}/{id}/attempt/{attemptId}/stderr", ProblemResponses.Around(RecordEndpoints.GetAttemptStderrAsync))
            .Describe(RecordEndpoints.GetAttemptStderrAsync, "GetAttemptStderr", "The last bytes (max_stderr, 64 KiB by default) the attempt wrote to stderr, with the runner's words on why it failed, served sandboxed as text/plain")
            .Responds("text/plain", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        group.MapGet("/{unit}/{id}/request", ProblemResponses.Around(RecordEndpoints.GetRequestAsync))
            .Describe(RecordEndpoints.GetRequestAsync, "GetRequest", "The saved request body with its content headers (credentials hidden), served sandboxed; method in X-Method and URI in X-Request-Uri")
            .Responds("application/octet-stream", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        group.MapPost("/{unit}/{id}", ProblemResponses.Around(RequestEndpoints.RetryAsync))
            .Describe(RequestEndpoints.RetryAsync, "Retry", "Queue a new request with the same saved content; 303 to the new id")
            .Responds(StatusCodes.Status303SeeOther, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status410Gone,
                StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable, StatusCodes.Status507InsufficientStorage);
        group.MapDelete("/{unit}/{id}", ProblemResponses.Around(RequestEndpoints.CancelAsync))
            .Describe(RequestEndpoints.CancelAsync, "Cancel", "No further attempts; a running attempt is killed")
            .Responds(StatusCodes.Status204NoContent, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return group;
    }

    /// <summary>Maps the routes that pause, resume and run now; literal segments after <c>{unit}</c>, so they never shadow a request id.</summary>
    private static void MapUnitControl(this RouteGroupBuilder group)
    {
        group.MapPost("/{unit}/pause", ProblemResponses.Around(UnitControlEndpoints.PauseAsync))
            .Describe(UnitControlEndpoints.PauseAsync, "PauseUnit", "Pause the unit: requests are still accepted and stored, but no attempt starts until it is resumed; running attempts finish")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status410Gone);
        group.MapPost("/{unit}/resume", ProblemResponses.Around(UnitControlEndpoints.ResumeAsync))
            .Describe(UnitControlEndpoints.ResumeAsync, "ResumeUnit", "Resume the unit: its waiting requests start at once")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status410Gone);
        group.MapPost("/{unit}/schedules/{entry}/pause", ProblemResponses.Around(UnitControlEndpoints.PauseScheduleAsync))
            .Describe(UnitControlEndpoints.PauseScheduleAsync, "PauseSchedule", "Pause one schedule entry (its name, or its position from 0): its ticks queue nothing until it is resumed")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status410Gone);
        group.MapPost("/{unit}/schedules/{entry}/resume", ProblemResponses.Around(UnitControlEndpoints.ResumeScheduleAsync))
            .Describe(UnitControlEndpoints.ResumeScheduleAsync, "ResumeSchedule", "Resume one schedule entry from its next tick on")
            .Responds("application/json", StatusCodes.Status200OK)
            .Responds(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status410Gone);
        group.MapPost("/{unit}/schedules/{entry}/trigger", ProblemResponses.Around(UnitControlEndpoints.TriggerScheduleAsync))
            .Describe(UnitControlEndpoints.TriggerScheduleAsync, "TriggerSchedule", "Queue one request of the schedule entry now, exactly as a tick would; 303 to it")
            .Responds(StatusCodes.Status303SeeOther, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status410Gone,
                StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable, StatusCodes.Status507InsufficientStorage);
    }

    /// <summary>Names and summarizes the route for the OpenAPI document; the handler's method lets API descriptions include a <see cref="RequestDelegate"/> route.</summary>
    private static IEndpointConventionBuilder Describe(this IEndpointConventionBuilder builder, RequestDelegate handler, string name, string summary) =>
        builder.WithMetadata(handler.Method).WithName(name).WithSummary(summary).WithTags(Tag);

    private static IEndpointConventionBuilder Responds(this IEndpointConventionBuilder builder, params int[] statusCodes)
    {
        foreach (var code in statusCodes)
        {
            // Every error the API itself answers is a problem document; success answers have no body or their own type.
            builder.WithMetadata(new ProducesResponseTypeMetadata(code, typeof(void), code >= 400 ? [ProblemResponses.ContentType] : []));
        }

        return builder;
    }

    private static IEndpointConventionBuilder Responds(this IEndpointConventionBuilder builder, string contentType, int statusCode) =>
        builder.WithMetadata(new ProducesResponseTypeMetadata(statusCode, typeof(void), [contentType]));
}
