using System.Diagnostics;
using System.Globalization;
using NanoRun.Requests;

namespace NanoRun.Tracing;

/// <summary>The name of the engine's <see cref="ActivitySource"/>; a trace exporter adds it to be sent the engine's spans.</summary>
public static class NanoRunActivitySource
{
    /// <summary>The source's name, <c>NanoRun</c>: spans <c>nanorun.accept</c>, <c>nanorun.attempt</c> and <c>nanorun.callback</c>.</summary>
    public const string Name = "NanoRun";
}

/// <summary>
/// The spans of one request (accept, each attempt, the callback) and the W3C trace context that links them across nodes
/// and restarts. The context of the accept span is saved with the request among its reserved header pairs, so an attempt
/// on any node, at any later time, continues the same trace; without a listener no span is made and the client's own
/// <c>traceparent</c> (a saved header) is passed on unchanged.
/// </summary>
internal static class RequestTracing
{
    /// <summary>Saved pair with the <c>traceparent</c> of the accept span.</summary>
    public const string SavedParent = ":traceparent";

    /// <summary>Saved pair with the <c>tracestate</c> of the accept span.</summary>
    public const string SavedState = ":tracestate";

    /// <summary>The W3C header that carries the trace context.</summary>
    public const string ParentHeader = "traceparent";

    /// <summary>The W3C header that carries vendor trace state.</summary>
    public const string StateHeader = "tracestate";

    /// <summary>Source of every span of the engine.</summary>
    public static readonly ActivitySource Source = new(NanoRunActivitySource.Name, typeof(RequestTracing).Assembly.GetName().Version?.ToString(3));

    // The ASP.NET Core request span: an accept span skips it as a parent when the client sent no context, so that a trace
    // starts at the accept span and not at a span no exporter sends.
    private const string HostingSource = "Microsoft.AspNetCore";

    // The ASP.NET Core request span's name; when nothing listens to its source, ASP.NET Core makes it without one.
    private const string HostingActivity = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    /// <summary>Starts the accept span of a request, or returns <c>null</c> when nothing listens.</summary>
    public static Activity? StartAccept(string unit, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        if (!TryParent(headers, clientOnly: true, out var parent) && Activity.Current is { } current
            && (current.Source.Name == HostingSource || current.OperationName == HostingActivity))
        {
            // A default parent means Activity.Current: cleared, the accept span is the root of a new trace. The caller is
            // an async method, so its own caller gets its Activity.Current back when it returns.
            Activity.Current = null;
        }

        var activity = Source.StartActivity("nanorun.accept", ActivityKind.Producer, parent);
        activity?.SetTag("nanorun.unit", unit);
        return activity;
    }

    /// <summary>Ends an accept span with the request's id, or with the reason it was refused.</summary>
    public static void EndAccept(Activity? activity, string? requestId, string outcome)
    {
        if (activity is null)
        {
            return;
        }

        if (requestId is not null)
        {
            activity.SetTag("nanorun.request.id", requestId);
        }

        activity.SetTag("nanorun.outcome", outcome);
        activity.Dispose();
    }

    /// <summary>The header pairs to save: <paramref name="headers"/> with the accept span's context as reserved pairs, unchanged without a span.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> WithContext(IReadOnlyList<KeyValuePair<string, string>> headers, Activity? accept)
    {
        if (accept?.Id is not { } id || accept.IdFormat != ActivityIdFormat.W3C)
        {
            return headers;
        }

        var all = new List<KeyValuePair<string, string>>(headers.Count + 2);
        for (var i = 0; i < headers.Count; i++)
        {
            if (!headers[i].Key.Equals(SavedParent, StringComparison.Ordinal) && !headers[i].Key.Equals(SavedState, StringComparison.Ordinal))
            {
                all.Add(headers[i]);
            }
        }

        all.Add(new(SavedParent, id));
        if (!string.IsNullOrEmpty(accept.TraceStateString))
        {
            all.Add(new(SavedState, accept.TraceStateString));
        }

        return all;
    }

    /// <summary>
    /// The trace context saved with a request: the accept span's, else the client's <c>traceparent</c> and <c>tracestate</c>;
    /// <c>false</c> when neither is there or valid.
    /// </summary>
    public static bool TryParent(IReadOnlyList<KeyValuePair<string, string>> saved, out ActivityContext parent) =>
        TryParent(saved, clientOnly: false, out parent);

    /// <summary>Starts the span of one attempt on this node, a child of the request's saved context, or returns <c>null</c> when nothing listens.</summary>
    public static Activity? StartAttempt(string unit, string requestId, string attemptId, int number, string node, IReadOnlyList<KeyValuePair<string, string>> saved)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("nanorun.attempt", ActivityKind.Consumer, TryParent(saved, out var parent) ? parent : default);
        if (activity is not null)
        {
            activity.SetTag("nanorun.unit", unit);
            activity.SetTag("nanorun.request.id", requestId);
            activity.SetTag("nanorun.attempt.id", attemptId);
            activity.SetTag("nanorun.attempt.number", number);
            activity.SetTag("nanorun.node", node);
        }

        return activity;
    }

    /// <summary>Ends an attempt span with the attempt's status code and the state the request moved to.</summary>
    public static void EndAttempt(Activity? activity, int code, RequestState state)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("http.response.status_code", code);
        activity.SetTag("nanorun.outcome", state.ToWire());
        if (code >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error, code.ToString(CultureInfo.InvariantCulture));
        }

        activity.Dispose();
    }

    /// <summary>Starts the span of one callback delivery try, or returns <c>null</c> when nothing listens.</summary>
    public static Activity? StartCallback(string unit, string requestId, int attempt, string node, IReadOnlyList<KeyValuePair<string, string>> saved)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("nanorun.callback", ActivityKind.Client, TryParent(saved, out var parent) ? parent : default);
        if (activity is not null)
        {
            activity.SetTag("nanorun.unit", unit);
            activity.SetTag("nanorun.request.id", requestId);
            activity.SetTag("nanorun.callback.attempt", attempt);
            activity.SetTag("nanorun.node", node);
        }

        return activity;
    }

    /// <summary>Ends a callback span with the delivery's outcome and the receiver's status, when one answered.</summary>
    public static void EndCallback(Activity? activity, string outcome, int? status)
    {
        if (activity is null)
        {
            return;
        }

        if (status is { } code)
        {
            activity.SetTag("http.response.status_code", code);
        }

        activity.SetTag("nanorun.outcome", outcome);
        if (status is null or < 200 or >= 300)
        {
            activity.SetStatus(ActivityStatusCode.Error, outcome);
        }

        activity.Dispose();
    }

    /// <summary>
    /// The <c>traceparent</c> and <c>tracestate</c> that a span passes on to the next hop (a command, an upstream, a
    /// callback receiver): the span's own when there is one, else the saved context unchanged; <c>null</c> without either.
    /// </summary>
    public static (string? Parent, string? State) Outgoing(Activity? span, IReadOnlyList<KeyValuePair<string, string>> saved)
    {
        if (span is { IdFormat: ActivityIdFormat.W3C, Id: { } id })
        {
            return (id, span.TraceStateString);
        }

        if (!TryParent(saved, out _))
        {
            return (null, null);
        }

        var (parent, state) = Find(saved, SavedParent, SavedState);
        return parent is null ? Find(saved, ParentHeader, StateHeader) : (parent, state);
    }

    private static bool TryParent(IReadOnlyList<KeyValuePair<string, string>> saved, bool clientOnly, out ActivityContext parent)
    {
        if (!clientOnly)
        {
            var (ownParent, ownState) = Find(saved, SavedParent, SavedState);
            if (ownParent is not null && ActivityContext.TryParse(ownParent, ownState, isRemote: true, out parent))
            {
                return true;
            }
        }

        var (clientParent, clientState) = Find(saved, ParentHeader, StateHeader);
        if (clientParent is not null && ActivityContext.TryParse(clientParent, clientState, isRemote: true, out parent))
        {
            return true;
        }

        parent = default;
        return false;
    }

    /// <summary>The first value of <paramref name="parentName"/> and of <paramref name="stateName"/> (case-insensitive) among the pairs.</summary>
    private static (string? Parent, string? State) Find(IReadOnlyList<KeyValuePair<string, string>> pairs, string parentName, string stateName)
    {
        string? parent = null;
        string? state = null;
        for (var i = 0; i < pairs.Count; i++)
        {
            if (parent is null && pairs[i].Key.Equals(parentName, StringComparison.OrdinalIgnoreCase))
            {
                parent = pairs[i].Value;
            }
            else if (state is null && pairs[i].Key.Equals(stateName, StringComparison.OrdinalIgnoreCase))
            {
                state = pairs[i].Value;
            }
        }

        return (parent, state);
    }
}
