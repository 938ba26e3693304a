namespace NanoRun.AspNetCore.Ui;

/// <summary>Who is looking at a UI page and where the UI lives: the base of every link and the form token.</summary>
internal sealed record UiSession
{
    /// <summary>The UI login's cookie authentication scheme.</summary>
    public const string Scheme = "NanoRun.Ui";

    /// <summary>The UI's path with the host's path base, such as <c>/ui</c>.</summary>
    public required string Base { get; init; }

    /// <summary>The logged-in user, or <c>null</c> when the UI is open.</summary>
    public string? Login { get; init; }

    /// <summary>Whether the logged-in user is a read-only viewer: pages hide their forms, and every change is refused.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Whether a login is configured, so a logout button is shown.</summary>
    public bool AuthEnabled { get; init; }

    /// <summary>The antiforgery form field's name.</summary>
    public required string CsrfField { get; init; }

    /// <summary>The antiforgery token every form carries.</summary>
    public required string CsrfToken { get; init; }

    public string Home => Base + "/";

    public string Schedules => Base + "/schedules";

    public string Nodes => Base + "/nodes";

    public string Logout => Base + "/auth/logout";

    public string Static(string file) => Base + "/static/" + file;

    public string Unit(string unit) => Base + "/units/" + Uri.EscapeDataString(unit);

    public string Request(string unit, string id) => Unit(unit) + "/requests/" + id;

    public string Attempt(string unit, string id, string attemptId) => Request(unit, id) + "/attempts/" + attemptId;
}
