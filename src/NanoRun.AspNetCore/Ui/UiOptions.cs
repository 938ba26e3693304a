namespace NanoRun.AspNetCore;

/// <summary>Settings of the web UI.</summary>
public sealed class UiOptions
{
    /// <summary>Folder whose files are served under <c>{prefix}/static/</c> in place of the built-in assets of the same name; default none.</summary>
    public string? StaticDirectory { get; set; }

    /// <summary>Login through an OAuth2 provider; <c>null</c> (the default) leaves the UI open to anyone who reaches it.</summary>
    public UiAuthOptions? Auth { get; set; }

    /// <summary>
    /// Whether units with their own <c>authorization</c> are left out of the UI: not listed, and answered 404 on every UI
    /// route. Meant for a UI without <see cref="Auth"/> that others can reach, which would otherwise let anyone use
    /// those units without their credential; default <c>false</c>.
    /// </summary>
    public bool HideProtectedUnits { get; set; }

    /// <summary>Requests listed per page on a unit's page; default 25.</summary>
    public int PageSize { get; set; } = 25;
}
