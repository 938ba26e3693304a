namespace NanoRun.AspNetCore;

/// <summary>Settings of the HTTP API.</summary>
public sealed class ApiOptions
{
    /// <summary>Default wait of a synchronous <c>PUT</c> without <c>?wait=</c>; default 30 seconds.</summary>
    public TimeSpan WaitTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait of a synchronous <c>PUT</c>: a longer <c>?wait=</c> (or <see cref="WaitTime"/>) is cut to it; default 10 minutes.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromMinutes(10);
}
