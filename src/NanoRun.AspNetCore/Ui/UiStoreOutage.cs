using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NanoRun.Queue;
using NanoRun.Storage;

namespace NanoRun.AspNetCore.Ui;

/// <summary>
/// Answers a UI page whose store cannot be reached (a database restarting or away, a read-only disk) with a 503 page and
/// <c>Retry-After</c>, the page's counterpart of the API's problem answer, instead of a 500.
/// </summary>
/// <remarks>
/// A database that does not answer at all (its port blocked) makes store calls hang rather than fail. Reads of records
/// and counts give up after <see cref="EngineOptions.AdmissionStoreTimeout"/> (5 seconds by default) and open the store
/// circuit; while it is open every page answers 503 at once, without touching the store. A page that has not started
/// its answer a second later has its other store calls cancelled and answers 503 too (how soon the cancellation
/// lands is up to the store's driver). Once the answer has started (a download, followed output) no deadline applies.
/// </remarks>
internal static partial class UiStoreOutage
{
    /// <summary>How much longer the page's deadline is than a read's: a read that hangs opens the store circuit first.</summary>
    private static readonly TimeSpan CircuitFirst = TimeSpan.FromSeconds(1);

    /// <summary>Wraps every endpoint of <paramref name="group"/>; <paramref name="prefix"/> is the UI's path for the page's links.</summary>
    public static void Guard(IEndpointConventionBuilder group, string prefix) =>
        group.Add(endpoint =>
        {
            var handler = endpoint.RequestDelegate;
            if (handler is not null)
            {
                endpoint.RequestDelegate = Around(handler, prefix, ReadsStore(endpoint));
            }
        });

    /// <summary>Whether the endpoint may read the store: all but the assets and the sign-in steps.</summary>
    private static bool ReadsStore(EndpointBuilder endpoint) =>
        endpoint is not RouteEndpointBuilder { RoutePattern.RawText: { } route }
        || !(route.Contains("/static/", StringComparison.Ordinal) || route.Contains("/auth/", StringComparison.Ordinal));

    private static RequestDelegate Around(RequestDelegate handler, string prefix, bool readsStore) => async context =>
    {
        if (readsStore && context.RequestServices.GetRequiredService<StoreCircuit>().IsOpen)
        {
            // The store is known to be away: the page is not tried, so none of its calls hangs on the store. Its assets
            // and the sign-in steps, which read no store, are served as usual.
            await AnswerUnavailableAsync(context, prefix, null).ConfigureAwait(false);
            return;
        }

        var aborted = context.RequestAborted;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline.CancelAfter(context.RequestServices.GetRequiredService<EngineOptions>().AdmissionStoreTimeout + CircuitFirst);
        context.Response.OnStarting(Disarm, deadline);
        context.RequestAborted = deadline.Token;
        try
        {
            await handler(context).ConfigureAwait(false);
        }
        catch (Exception e) when ((StoreFaults.IsUnavailable(e) || (e is OperationCanceledException && deadline.IsCancellationRequested))
            && !context.Response.HasStarted && !aborted.IsCancellationRequested)
        {
            context.RequestAborted = aborted;
            await AnswerUnavailableAsync(context, prefix, e).ConfigureAwait(false);
        }
        finally
        {
            context.RequestAborted = aborted;
        }
    };

    /// <summary>Answers the 503 page with <c>Retry-After</c>; logs <paramref name="error"/> when the page itself failed.</summary>
    private static Task AnswerUnavailableAsync(HttpContext context, string prefix, Exception? error)
    {
        if (error is not null)
        {
            LogStoreUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UiStoreOutage)), context.Request.Path.Value ?? string.Empty, error);
        }

        context.Response.Clear();
        var seconds = ((long)StoreFaults.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        context.Response.Headers.RetryAfter = seconds;
        var home = context.Request.PathBase + prefix;
        return UiEndpoints.MessageAsync(
            context,
            UiEndpoints.Anonymous(home),
            StatusCodes.Status503ServiceUnavailable,
            "Store unavailable",
            "The store cannot be reached now. Try again in " + seconds + " s.",
            home + "/");
    }

    /// <summary>Turns the deadline off once the answer starts; an answer that starts after the handler returned finds it disposed.</summary>
    private static Task Disarm(object state)
    {
        try
        {
            ((CancellationTokenSource)state).CancelAfter(Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 4206, Level = LogLevel.Warning, Message = "{Path}: the store cannot be reached; the page answered 503")]
    private static partial void LogStoreUnavailable(ILogger logger, string path, Exception exception);
}
