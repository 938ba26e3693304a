namespace NanoRun.Requests;

/// <summary>The lifecycle of one request.</summary>
public enum RequestState
{
    /// <summary>Saved and waiting for a worker. Entered on enqueue and when a lease is released or expires; left on claim or cancel.</summary>
    Queued = 0,

    /// <summary>Claimed under a lease while an attempt runs. Left when the attempt is recorded, the request is cancelled or the lease expires.</summary>
    Running = 1,

    /// <summary>An attempt failed and another is due after the interval. Left on claim or cancel.</summary>
    Retrying = 2,

    /// <summary>Final: an attempt answered with a status below 500.</summary>
    Succeeded = 3,

    /// <summary>Final: every allowed attempt answered 500 or more.</summary>
    Failed = 4,

    /// <summary>Final: cancelled through <c>DELETE</c> before it succeeded or failed.</summary>
    Cancelled = 5,
}

/// <summary>Helpers over <see cref="RequestState"/>.</summary>
public static class RequestStates
{
    /// <summary>Whether the state is final (the Go tool's <c>complete</c> flag).</summary>
    public static bool IsFinal(this RequestState state) => state >= RequestState.Succeeded;

    /// <summary>The lower-case outcome name used in JSON and headers.</summary>
    public static string ToWire(this RequestState state) => state switch
    {
        RequestState.Queued => "queued",
        RequestState.Running => "running",
        RequestState.Retrying => "retrying",
        RequestState.Succeeded => "succeeded",
        RequestState.Failed => "failed",
        RequestState.Cancelled => "cancelled",
        _ => "unknown",
    };
}
