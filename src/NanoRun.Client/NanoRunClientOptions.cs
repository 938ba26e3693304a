namespace NanoRun.Client;

/// <summary>Settings of <see cref="NanoRunClient"/>.</summary>
public sealed class NanoRunClientOptions
{
    /// <summary>Path of the API under the client's base address; default <c>api</c> (the server's <c>/api/</c>).</summary>
    public string ApiPath { get; set; } = "api";

    /// <summary>
    /// A credential for units with authorization, or <c>null</c> (default) for open units. It is sent as
    /// <c>Authorization: Bearer …</c> (for <c>jwt</c>) and as <c>X-Api-Token</c> (for <c>header_token</c>).
    /// </summary>
    public string? Token { get; set; }

    /// <summary>First pause between two polls of <see cref="NanoRunClient.WaitAsync"/>; doubles up to <see cref="MaxPollInterval"/>; default 100 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest pause between two polls of <see cref="NanoRunClient.WaitAsync"/>; default 2 seconds.</summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(2);
}
