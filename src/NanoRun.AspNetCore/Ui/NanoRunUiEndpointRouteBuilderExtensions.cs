using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.AspNetCore.Ui;

namespace NanoRun.AspNetCore;

/// <summary>Mounts the Nano-Run web UI.</summary>
public static class NanoRunUiEndpointRouteBuilderExtensions
{
    /// <summary>Maps the UI's pages, forms, assets and login under <paramref name="prefix"/>; register its services first with <c>AddUi</c>.</summary>
    /// <exception cref="InvalidOperationException"><c>AddUi</c> was not called.</exception>
    public static IEndpointConventionBuilder MapNanoRunUi(this IEndpointRouteBuilder endpoints, string prefix = "/ui")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        var options = endpoints.ServiceProvider.GetService<UiOptions>()
            ?? throw new InvalidOperationException("The Nano-Run UI needs its services: call AddUi() on the builder that AddNanoRun() returns.");
        var ui = new UiEndpoints(prefix);
        var forms = new UiFormEndpoints(ui);
        var login = new UiLoginEndpoints(ui);
        var bulk = new UiBulkEndpoints(ui);
        var control = new UiControlEndpoints(ui);
        var search = new UiSearchEndpoints(ui);
        var group = endpoints.MapGroup(ui.Prefix);
        UiStoreOutage.Guard(group, ui.Prefix);
        group.MapGet("/", (RequestDelegate)ui.UnitsAsync);
        group.MapGet("/schedules", (RequestDelegate)ui.SchedulesAsync);
        group.MapGet("/nodes", (RequestDelegate)ui.NodesAsync);
        group.MapGet("/static/{file}", (RequestDelegate)UiEndpoints.StaticAsync);
        group.MapGet("/units/{unit}", (RequestDelegate)ui.UnitAsync);
        group.MapPost("/units/{unit}", (RequestDelegate)forms.SubmitAsync);
        group.MapPost("/units/{unit}/failed/retry", (RequestDelegate)forms.ReplayFailedAsync);
        group.MapPost("/units/{unit}/selected", (RequestDelegate)bulk.SelectedAsync);
        group.MapPost("/units/{unit}/pause", (RequestDelegate)control.PauseAsync);
        group.MapPost("/units/{unit}/resume", (RequestDelegate)control.ResumeAsync);
        group.MapPost("/schedules/{unit}/{entry}/pause", (RequestDelegate)control.PauseScheduleAsync);
        group.MapPost("/schedules/{unit}/{entry}/resume", (RequestDelegate)control.ResumeScheduleAsync);
        group.MapPost("/schedules/{unit}/{entry}/trigger", (RequestDelegate)control.TriggerScheduleAsync);
        group.MapGet("/search", (RequestDelegate)search.SearchAsync);
        group.MapGet("/units/{unit}/requests/{id}", (RequestDelegate)ui.RequestAsync);
        group.MapGet("/units/{unit}/requests/{id}/payload", (RequestDelegate)ui.PayloadAsync);
        group.MapPost("/units/{unit}/requests/{id}/retry", (RequestDelegate)forms.RetryAsync);
        group.MapPost("/units/{unit}/requests/{id}/cancel", (RequestDelegate)forms.CancelAsync);
        group.MapGet("/units/{unit}/requests/{id}/attempts/{attemptId}", (RequestDelegate)ui.AttemptAsync);
        group.MapGet("/units/{unit}/requests/{id}/attempts/{attemptId}/result", (RequestDelegate)ui.ResultAsync);
        group.MapGet("/units/{unit}/requests/{id}/attempts/{attemptId}/stderr", (RequestDelegate)ui.StderrAsync);
        group.MapGet("/units/{unit}/requests/{id}/attempts/{attemptId}/stream", (RequestDelegate)ui.StreamAsync);
        group.MapGet("/auth/login", (RequestDelegate)login.LoginPageAsync);
        group.MapGet("/auth/start", (RequestDelegate)login.LoginStartAsync);
        group.MapGet("/auth/callback", (RequestDelegate)login.CallbackAsync);
        group.MapPost("/auth/logout", (RequestDelegate)login.LogoutAsync).WithMetadata(UiAccess.AllowedToViewers);

        // A registered redirect URI elsewhere on this server is answered too.
        var callback = options.Auth?.OAuth2.CallbackUrl?.AbsolutePath;
        if (callback is not null && callback != ui.Prefix + "/auth/callback")
        {
            endpoints.MapGet(callback, (RequestDelegate)login.CallbackAsync);
        }

        return group;
    }
}
