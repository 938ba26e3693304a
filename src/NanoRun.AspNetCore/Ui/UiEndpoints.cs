using NanoRun.AspNetCore.Authorization;
using NanoRun.AspNetCore.Api;
using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NanoRun.Queue;
using NanoRun.Requests;
using NanoRun.Scheduling;
using NanoRun.Storage;
using NanoRun.Units;
using RazorSlices;

namespace NanoRun.AspNetCore.Ui;

/// <summary>The UI's request handlers under one prefix; each page and form adapts one engine or store call.</summary>
internal sealed partial class UiEndpoints(string prefix)
{
    /// <summary>Seconds between reloads of a request page while the request is processing.</summary>
    private const int RefreshSeconds = 2;

    /// <summary>Limits what a page may load and where its forms may post: only this origin, no inline script.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data: https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>The UI's path under the host's path base, such as <c>/ui</c>.</summary>
    public string Prefix { get; } = prefix.TrimEnd('/');

    /// <summary><c>GET /</c>: every unit with its markers and counts.</summary>
    public async Task UnitsAsync(HttpContext context)
    {
        var session = await EnterAsync(context, form: false).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        var requests = Requests(context);
        var rows = new List<UnitRow>();
        foreach (var unit in Units(context).All.OrderBy(u => u.Name, StringComparer.Ordinal))
        {
            if (IsHidden(context, unit))
            {
                continue;
            }

            rows.Add(new UnitRow(unit, await requests.CountByStateAsync(unit.Name, context.RequestAborted).ConfigureAwait(false))
            {
                Chart = await UnitActivity.ReadSmallAsync(context, session, unit).ConfigureAwait(false),
                Pause = await UiControlEndpoints.UnitStatusAsync(context, unit.Name).ConfigureAwait(false),
            });
        }

        await RenderAsync(context, Pages.Units(new UnitsPageModel(new LayoutModel("Units", session, "units"), rows))).ConfigureAwait(false);
    }

    /// <summary><c>GET /units/{unit}?state=&amp;before=</c>: a unit's configuration and one page of its requests.</summary>
    public async Task UnitAsync(HttpContext context)
    {
        if (await EnterUnitAsync(context, form: false).ConfigureAwait(false) is not var (session, unit))
        {
            return;
        }

        var reader = Requests(context);
        var filter = ParseState(context.Request.Query["state"].ToString());
        var before = context.Request.Query["before"].ToString();
        if (!RequestId.IsValid(before))
        {
            before = string.Empty;
        }

        var pageSize = context.RequestServices.GetRequiredService<UiOptions>().PageSize;
        var requests = new List<RequestSummary>(pageSize + 1);
        var query = context.Request.Query["q"].ToString().Trim();
        var page = new PageParams(unit.Name, pageSize + 1, before.Length > 0 ? before : null, filter);
        var source = query.Length > 0
            ? reader.SearchAsync(new SearchParams(unit.Name, query, pageSize + 1, page.Before), context.RequestAborted)
            : reader.PageAsync(page, context.RequestAborted);
        await foreach (var summary in source.ConfigureAwait(false))
        {
            requests.Add(summary);
        }

        var model = new UnitPageModel(
            new LayoutModel(unit.Name, session, "units"),
            unit,
            await reader.CountByStateAsync(unit.Name, context.RequestAborted).ConfigureAwait(false),
            requests,
            filter,
            OlderHref: null,
            NewestHref: null,
            Time(context).GetUtcNow(),
            await UiControlEndpoints.WithPauseAsync(context, ScheduleRows(context, unit)).ConfigureAwait(false))
        {
            Pause = await UiControlEndpoints.UnitStatusAsync(context, unit.Name).ConfigureAwait(false),
            Query = query.Length > 0 ? query : null,
            Charts = await UnitActivity.ReadAsync(context, session, unit).ConfigureAwait(false),
        };
        if (requests.Count > pageSize)
        {
            // One more than a page was read only to learn that an older page exists.
            requests.RemoveAt(pageSize);
            var older = session.Unit(unit.Name) + "?before=" + requests[^1].Id;
            model = model with { OlderHref = model.Query is { } q ? older + "&q=" + Uri.EscapeDataString(q) : filter is { } s ? older + "&state=" + s.ToWire() : older };
        }

        if (before.Length > 0)
        {
            model = model with { NewestHref = model.Query is { } q ? model.FilterHref(null) + "?q=" + Uri.EscapeDataString(q) : model.FilterHref(filter) };
        }

        await RenderAsync(context, Pages.Unit(model)).ConfigureAwait(false);
    }

    /// <summary><c>GET /units/{unit}/requests/{id}</c>: a request's details, payload preview and attempts.</summary>
    public async Task RequestAsync(HttpContext context)
    {
        if (await EnterRequestAsync(context, form: false).ConfigureAwait(false) is not var (session, unit, record))
        {
            return;
        }

        var requests = Requests(context);
        var payload = await BodyPreview.ReadAsync(requests, record.Body, BodyPreview.Header(record.Headers, "Content-Type"), context.RequestAborted).ConfigureAwait(false);
        var layout = new LayoutModel("Request " + record.Id, session, "units", record.State.IsFinal() ? null : RefreshSeconds);
        var shown = CredentialRedaction.Redact(unit, record);
        var model = new RequestPageModel(layout, unit, shown, payload, Time(context).GetUtcNow())
        {
            Running = record.State.IsFinal() || requests.FindRunning(record.Id) is not { } live ? null : (live.AttemptId, live.Number),
            Callback = await CallbackStatusAsync(requests, unit, record.Id, context.RequestAborted).ConfigureAwait(false),
            LastStderr = record.Attempts.Count > 0 && record.Attempts[^1].Stderr.Length > 0
                ? await BodyPreview.ReadAsync(requests, record.Attempts[^1].Stderr, "text/plain", context.RequestAborted).ConfigureAwait(false)
                : null,
        };
        await RenderAsync(context, Pages.Request(model)).ConfigureAwait(false);
    }

    /// <summary><c>GET /units/{unit}/requests/{id}/attempts/{attemptId}</c>: one attempt with its result preview.</summary>
    public async Task AttemptAsync(HttpContext context)
    {
        var session = await EnterAsync(context, form: false).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        var (unit, record) = await FindRequestAsync(context).ConfigureAwait(false);
        var attempt = record is null ? null : FindAttempt(context, record);
        if (unit is not null && record is not null && attempt is null && RunningAttempt(context, record) is { } running)
        {
            var runningLayout = new LayoutModel($"Attempt {running.Number} of {record.Id}", session, "units");
            await RenderAsync(context, Pages.Attempt(new AttemptPageModel(runningLayout, unit, record, running, new BodyPreview(0, null, false, false)) { Running = true })).ConfigureAwait(false);
            return;
        }

        if (unit is null || record is null || attempt is null)
        {
            await NotFoundAsync(context, session, "No attempt of that id in this request.").ConfigureAwait(false);
            return;
        }

        var requests = Requests(context);
        var result = await BodyPreview.ReadAsync(requests, attempt.Result, BodyPreview.Header(attempt.Headers, "Content-Type"), context.RequestAborted).ConfigureAwait(false);
        var stderr = await BodyPreview.ReadAsync(requests, attempt.Stderr, "text/plain", context.RequestAborted).ConfigureAwait(false);
        var layout = new LayoutModel($"Attempt {attempt.Number} of {record.Id}", session, "units");
        await RenderAsync(context, Pages.Attempt(new AttemptPageModel(layout, unit, record, attempt, result) { Stderr = stderr })).ConfigureAwait(false);
    }

    /// <summary><c>GET /units/{unit}/requests/{id}/payload</c>: the saved body as a download.</summary>
    public async Task PayloadAsync(HttpContext context)
    {
        if (await EnterRequestAsync(context, form: false).ConfigureAwait(false) is not var (session, unit, record))
        {
            return;
        }

        await DownloadAsync(context, session, record.Body, "request-" + record.Id + ".body").ConfigureAwait(false);
    }

    /// <summary><c>GET /units/{unit}/requests/{id}/attempts/{attemptId}/result</c>: an attempt's result as a download.</summary>
    public Task ResultAsync(HttpContext context) => AttemptDownloadAsync(context, stderr: false);

    /// <summary><c>GET /units/{unit}/requests/{id}/attempts/{attemptId}/stderr</c>: an attempt's kept stderr as a download.</summary>
    public Task StderrAsync(HttpContext context) => AttemptDownloadAsync(context, stderr: true);

    private async Task AttemptDownloadAsync(HttpContext context, bool stderr)
    {
        var session = await EnterAsync(context, form: false).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        var (unit, record) = await FindRequestAsync(context).ConfigureAwait(false);
        var attempt = record is null ? null : FindAttempt(context, record);
        if (unit is null || record is null || attempt is null)
        {
            await NotFoundAsync(context, session, "No attempt of that id in this request.").ConfigureAwait(false);
            return;
        }

        await DownloadAsync(context, session, stderr ? attempt.Stderr : attempt.Result, "attempt-" + attempt.Id + (stderr ? ".stderr" : ".result")).ConfigureAwait(false);
    }

    /// <summary>The unit's schedule entries with their next tick and last request.</summary>
    private static List<ScheduleRow> ScheduleRows(HttpContext context, UnitDefinition unit)
    {
        var scheduler = context.RequestServices.GetService<IScheduleStatus>();
        var rows = new List<ScheduleRow>(unit.Cron.Count);
        for (var i = 0; i < unit.Cron.Count; i++)
        {
            var (next, last) = scheduler?.Describe(unit.Name, i) ?? default;
            rows.Add(new ScheduleRow(unit, unit.Cron[i], i, next, last));
        }

        return rows;
    }

    /// <summary><c>GET /schedules</c>: every schedule entry of every unit.</summary>
    public async Task SchedulesAsync(HttpContext context)
    {
        var session = await EnterAsync(context, form: false).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        var rows = new List<ScheduleRow>();
        foreach (var unit in Units(context).All.OrderBy(u => u.Name, StringComparer.Ordinal))
        {
            if (IsHidden(context, unit))
            {
                continue;
            }

            rows.AddRange(ScheduleRows(context, unit));
        }

        await UiControlEndpoints.WithPauseAsync(context, rows).ConfigureAwait(false);
        var queuedUnit = context.Request.Query[UiControlEndpoints.QueuedUnitParameter].ToString();
        var queuedId = context.Request.Query[UiControlEndpoints.QueuedIdParameter].ToString();
        var model = new SchedulesPageModel(new LayoutModel("Schedules", session, "schedules"), rows)
        {
            Queued = RequestId.IsValid(queuedId) && Units(context).Find(queuedUnit) is { } queued ? (queued.Name, queuedId) : null,
        };
        await RenderAsync(context, Pages.Schedules(model)).ConfigureAwait(false);
    }

    /// <summary><c>GET /nodes</c>: the nodes serving the store, with their heartbeat, running attempts and units.</summary>
    public async Task NodesAsync(HttpContext context)
    {
        var session = await EnterAsync(context, form: false).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }

        var nodes = await NodeList.ReadAsync(context).ConfigureAwait(false);
        var options = context.RequestServices.GetRequiredService<EngineOptions>();
        var model = new NodesPageModel(new LayoutModel("Nodes", session, "nodes"), nodes, options.LeaseDuration, options.NodeId);
        await RenderAsync(context, Pages.Nodes(model)).ConfigureAwait(false);
    }

    /// <summary><c>GET /static/{file}</c>: the UI's assets, open to everyone so the login page has its style.</summary>
    public static Task StaticAsync(HttpContext context) => context.RequestServices.GetRequiredService<UiAssets>().ServeAsync(context);

    /// <summary>
    /// Admits a request to a UI page or form: checks the login when one is configured (redirecting a page view to the
    /// login page), and for a form also its origin and antiforgery token. Answers the request itself and returns
    /// <c>null</c> when it is refused.
    /// </summary>
    internal async Task<UiSession?> EnterAsync(HttpContext context, bool form)
    {
        var services = context.RequestServices;
        var auth = services.GetRequiredService<UiOptions>().Auth;
        var uiBase = context.Request.PathBase + Prefix;
        string? login = null;
        if (auth is not null)
        {
            var result = await context.AuthenticateAsync(UiSession.Scheme).ConfigureAwait(false);
            login = result.Principal?.Identity?.Name;
            if (login is null || !IsAllowed(auth, login))
            {
                if (login is not null)
                {
                    await context.SignOutAsync(UiSession.Scheme).ConfigureAwait(false);
                }

                if (form || !HttpMethods.IsGet(context.Request.Method))
                {
                    await MessageAsync(context, Anonymous(uiBase), StatusCodes.Status403Forbidden, "Signed out", "Sign in again, then repeat the action.", uiBase + "/auth/login").ConfigureAwait(false);
                }
                else
                {
                    var back = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
                    context.Response.Redirect(uiBase + "/auth/login?return=" + Uri.EscapeDataString(back));
                }

                return null;
            }

            context.User = result.Principal!;
        }

        var antiforgery = services.GetRequiredService<IAntiforgery>();
        if (form)
        {
            if (!IsSameOrigin(context.Request) || !await antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
            {
                await MessageAsync(context, Anonymous(uiBase), StatusCodes.Status403Forbidden, "Form refused", "The form did not come from this site, or it is too old. Reload the page and try again.", uiBase + "/").ConfigureAwait(false);
                return null;
            }
        }

        var readOnly = auth is not null && login is not null && UiAccess.Of(auth, login) == UiAccessLevel.ReadOnly;
        if (readOnly && UiAccess.Changes(context))
        {
            await MessageAsync(context, Anonymous(uiBase) with { Login = login, ReadOnly = true, AuthEnabled = true }, StatusCodes.Status403Forbidden, "Read-only", login + " may look at everything here but change nothing.", uiBase + "/").ConfigureAwait(false);
            return null;
        }

        var tokens = antiforgery.GetAndStoreTokens(context);
        return new UiSession
        {
            Base = uiBase,
            Login = login,
            ReadOnly = readOnly,
            AuthEnabled = auth is not null,
            CsrfField = tokens.FormFieldName,
            CsrfToken = tokens.RequestToken ?? string.Empty,
        };
    }

    /// <summary>Whether <paramref name="login"/> may use the UI under <paramref name="auth"/>, read-only or not (see <see cref="UiAccess"/>).</summary>
    internal static bool IsAllowed(UiAuthOptions auth, string login) => UiAccess.Of(auth, login) != UiAccessLevel.None;

    /// <summary>A form post is accepted only from this site: a browser's <c>Origin</c> must name this host, and a
    /// <c>Sec-Fetch-Site</c> of <c>cross-site</c> is refused. The antiforgery token is checked as well.</summary>
    private static bool IsSameOrigin(HttpRequest request)
    {
        if (request.Headers["Sec-Fetch-Site"].ToString().Equals("cross-site", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        // The scheme is not compared: a TLS-terminating proxy in front makes the request look like plain HTTP.
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.IsDefaultPort ? uri.Host : uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    internal static UiSession Anonymous(string uiBase) => new() { Base = uiBase, CsrfField = string.Empty, CsrfToken = string.Empty };

    internal static INanoRunRequests Requests(HttpContext context) => context.RequestServices.GetRequiredService<INanoRunRequests>();

    internal static UnitCatalog Units(HttpContext context) => context.RequestServices.GetRequiredService<UnitCatalog>();

    internal static TimeProvider Time(HttpContext context) => context.RequestServices.GetRequiredService<TimeProvider>();

    /// <summary>The unit named by the route, or <c>null</c> when there is none or the UI hides it (see <see cref="UiOptions.HideProtectedUnits"/>).</summary>
    internal static UnitDefinition? FindUnit(HttpContext context) =>
        context.Request.RouteValues["unit"] is string name && Units(context).Find(name) is { } unit && !IsHidden(context, unit) ? unit : null;

    internal static bool IsHidden(HttpContext context, UnitDefinition unit) =>
        unit.Authorization.IsEnabled && context.RequestServices.GetRequiredService<UiOptions>().HideProtectedUnits;

    /// <summary>Enters the page and loads the request its route names; when either fails the answer is already written and the result is <c>null</c>.</summary>
    internal async Task<(UiSession Session, UnitDefinition Unit, RequestRecord Record)?> EnterRequestAsync(HttpContext context, bool form)
    {
        var session = await EnterAsync(context, form).ConfigureAwait(false);
        if (session is null)
        {
            return null;
        }

        var (unit, record) = await FindRequestAsync(context).ConfigureAwait(false);
        if (unit is null || record is null)
        {
            await NotFoundAsync(context, session, "No request of that id in this unit.").ConfigureAwait(false);
            return null;
        }

        return (session, unit, record);
    }

    /// <summary>Checks the session (and the antiforgery token of a form) and finds the unit named by the route; answers itself and returns <c>null</c> otherwise.</summary>
    internal async Task<(UiSession Session, UnitDefinition Unit)?> EnterUnitAsync(HttpContext context, bool form)
    {
        var session = await EnterAsync(context, form).ConfigureAwait(false);
        if (session is null)
        {
            return null;
        }

        var unit = FindUnit(context);
        if (unit is null)
        {
            await NotFoundAsync(context, session, "No unit of that name.").ConfigureAwait(false);
            return null;
        }

        return (session, unit);
    }

    private static async Task<(UnitDefinition? Unit, RequestRecord? Record)> FindRequestAsync(HttpContext context)
    {
        var requests = Requests(context);
        var unit = FindUnit(context);
        if (unit is null || context.Request.RouteValues["id"] is not string id || !RequestId.IsValid(id))
        {
            return (unit, null);
        }

        var record = await requests.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        return record is not null && string.Equals(record.Unit, unit.Name, StringComparison.Ordinal) ? (unit, record) : (unit, null);
    }

    internal static AttemptRecord? FindAttempt(HttpContext context, RequestRecord record)
    {
        var attemptId = context.Request.RouteValues["attemptId"] as string;
        foreach (var attempt in record.Attempts)
        {
            if (string.Equals(attempt.Id, attemptId, StringComparison.Ordinal))
            {
                return attempt;
            }
        }

        return null;
    }

    internal static RequestState? ParseState(string value)
    {
        foreach (var state in Enum.GetValues<RequestState>())
        {
            if (state.ToWire() == value)
            {
                return state;
            }
        }

        return null;
    }

    /// <summary>Sends a stored body as an attachment that a browser never renders.</summary>
    internal static async Task DownloadAsync(HttpContext context, UiSession session, BodyRef body, string fileName)
    {
        var stream = await Requests(context).OpenBodyAsync(body, context.RequestAborted).ConfigureAwait(false);
        if (stream is null)
        {
            await NotFoundAsync(context, session, "The stored body is missing.").ConfigureAwait(false);
            return;
        }

        await using (stream.ConfigureAwait(false))
        {
            var response = context.Response;
            response.ContentType = "application/octet-stream";
            response.ContentLength = body.Length;
            response.Headers.ContentDisposition = "attachment; filename=\"" + fileName + "\"";
            StoredBodyResponse.Protect(response);
            if (body.Length > 0)
            {
                // Stream.CopyToAsync copies through one pooled buffer.
                await stream.CopyToAsync(response.Body, 64 * 1024, context.RequestAborted).ConfigureAwait(false);
            }
        }
    }

    internal static Task NotFoundAsync(HttpContext context, UiSession session, string text) =>
        MessageAsync(context, session, StatusCodes.Status404NotFound, "Not found", text, session.Home);

    internal static Task MessageAsync(HttpContext context, UiSession session, int status, string heading, string text, string? back) =>
        RenderAsync(context, Pages.Message(new MessagePageModel(new LayoutModel(heading, session), heading, text, back)), status);

    internal static Task RenderAsync(HttpContext context, RazorSlice page, int status = StatusCodes.Status200OK)
    {
        var response = context.Response;
        page.StatusCode = status;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "same-origin";
        response.Headers.CacheControl = "no-store";
        return ((IResult)page).ExecuteAsync(context);
    }
}
