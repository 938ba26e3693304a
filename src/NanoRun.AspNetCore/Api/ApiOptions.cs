namespace NanoRun.AspNetCore;

/// <summary>Settings of the HTTP API.</summary>
public sealed class ApiOptions
{
    /// <summary>Default wait of a synchronous <c>PUT</c> without <c>?wait=</c>; default 30 seconds.</summary>
    public TimeSpan WaitTime { get; set; } = TimeSpan.FromSeconds(30);
}
