using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using NanoRun.AspNetCore.Api;

namespace NanoRun.AspNetCore;

/// <summary>Mounts the Nano-Run HTTP API.</summary>
public static class NanoRunEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>{prefix}/{unit}/</c> and its request routes; returns the group so hosts can add conventions such as authorization.</summary>
    public static IEndpointConventionBuilder MapNanoRun(this IEndpointRouteBuilder endpoints, string prefix = "/api")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(prefix);
        group.MapPost("/{unit}", (RequestDelegate)RequestEndpoints.EnqueueAsync);
        group.MapPut("/{unit}", (RequestDelegate)RequestEndpoints.EnqueueAndWaitAsync);
        group.MapGet("/{unit}/{id}", (RequestDelegate)RequestEndpoints.GetRecordAsync);
        group.MapGet("/{unit}/{id}/completed", (RequestDelegate)RequestEndpoints.GetCompletedAsync);
        group.MapGet("/{unit}/{id}/attempt/{attemptId}", (RequestDelegate)RequestEndpoints.GetAttemptAsync);
        group.MapGet("/{unit}/{id}/attempt/{attemptId}/stream", (RequestDelegate)RequestEndpoints.StreamAttemptAsync);
        group.MapGet("/{unit}/{id}/request", (RequestDelegate)RequestEndpoints.GetRequestAsync);
        group.MapPost("/{unit}/{id}", (RequestDelegate)RequestEndpoints.RetryAsync);
        group.MapDelete("/{unit}/{id}", (RequestDelegate)RequestEndpoints.CancelAsync);
        return group;
    }
}
