namespace NanoRun.AspNetCore;

/// <summary>Settings of the web UI.</summary>
public sealed class UiOptions
{
    /// <summary>Folder whose files are served under <c>{prefix}/static/</c> in place of the built-in assets of the same name; default none.</summary>
    public string? StaticDirectory { get; set; }

    /// <summary>Login through an OAuth2 provider; <c>null</c> (the default) leaves the UI open to anyone who reaches it.</summary>
    public UiAuthOptions? Auth { get; set; }

    /// <summary>Requests listed per page on a unit's page; default 25.</summary>
    public int PageSize { get; set; } = 25;
}
