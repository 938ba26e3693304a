using Microsoft.Extensions.Options;
using NanoRun;
using NanoRun.AspNetCore;
using NanoRun.Queue;
using NanoRun.Retention;
using NanoRun.Storage.Sqlite;

// A host whose Nano-Run options all come from appsettings.json (section "NanoRun"). It serves the effective values on
// GET /options; with --print-options it prints them and exits, which is what its check reads from the AOT binary.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.AddNanoRun(builder.Configuration.GetSection("NanoRun"))
    .UseSqlite(Path.Combine(builder.Environment.ContentRootPath, "run", "data"))
    .AddUnit("echo", unit => unit.Handle(static (job, ct) => job.RequestBody.CopyToAsync(job.ResponseBody, ct)));

var app = builder.Build();
app.MapNanoRun("/api");
app.MapGet("/options", (IServiceProvider services) => Results.Text(Describe(services)));

if (args.Contains("--print-options"))
{
    // Resolving the options runs their validation, as the host's start does.
    Console.Write(Describe(app.Services));
    return;
}

app.Run();

static string Describe(IServiceProvider services)
{
    var engine = services.GetRequiredService<IOptions<EngineOptions>>().Value;
    var retention = services.GetRequiredService<IOptions<RetentionOptions>>().Value;
    var api = services.GetRequiredService<IOptions<ApiOptions>>().Value;
    return string.Join('\n',
        $"engine.lease_duration={engine.LeaseDuration}",
        $"engine.graceful_shutdown={engine.GracefulShutdown}",
        $"engine.min_free_disk={engine.MinFreeDisk}",
        $"retention.max_age={retention.MaxAge}",
        $"retention.max_count={retention.MaxCount}",
        $"retention.interval={retention.Interval}",
        $"api.wait_time={api.WaitTime}",
        $"api.max_wait={api.MaxWait}",
        string.Empty);
}
