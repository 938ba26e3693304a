using Microsoft.AspNetCore.Http;

namespace NanoRun.AspNetCore.Ui;

/// <summary>What a login may do in the UI.</summary>
internal enum UiAccessLevel
{
    /// <summary>Not allowed in.</summary>
    None,

    /// <summary>Sees every page and changes nothing.</summary>
    ReadOnly,

    /// <summary>Sees and changes everything.</summary>
    Full,
}

/// <summary>
/// The UI's access rule: who is let in under <see cref="UiAuthOptions"/>, and which requests a read-only viewer is refused.
/// Every UI handler enters through <see cref="UiEndpoints.EnterAsync"/>, which applies this rule, so a new form is
/// refused to viewers without a change here.
/// </summary>
internal static class UiAccess
{
    /// <summary>Endpoint metadata on a POST route that a viewer may use because it changes nothing stored (signing out).</summary>
    public static readonly object AllowedToViewers = new ViewerAllowed();

    /// <summary>The access of <paramref name="login"/>: listed in <see cref="UiAuthOptions.AllowedUsers"/> is full, in
    /// <see cref="UiAuthOptions.Viewers"/> read-only; with both lists empty every login is full.</summary>
    public static UiAccessLevel Of(UiAuthOptions auth, string login)
    {
        if (auth.AllowedUsers.Count == 0 && auth.Viewers.Count == 0)
        {
            return UiAccessLevel.Full;
        }

        if (Contains(auth.AllowedUsers, login))
        {
            return UiAccessLevel.Full;
        }

        return Contains(auth.Viewers, login) ? UiAccessLevel.ReadOnly : UiAccessLevel.None;
    }

    /// <summary>
    /// Whether the request may change something: any method other than GET and HEAD, unless its endpoint carries
    /// <see cref="AllowedToViewers"/>.
    /// </summary>
    public static bool Changes(HttpContext context) =>
        !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method)
        && context.GetEndpoint()?.Metadata.GetMetadata<ViewerAllowed>() is null;

    private static bool Contains(IReadOnlyList<string> logins, string login)
    {
        foreach (var entry in logins)
        {
            if (string.Equals(entry, login, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class ViewerAllowed;
}
