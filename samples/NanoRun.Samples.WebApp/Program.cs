using NanoRun;
using NanoRun.AspNetCore;
using NanoRun.Client;
using NanoRun.Jobs;
using NanoRun.Samples.WebApp;
using NanoRun.Storage.PostgreSql;
using NanoRun.Storage.Sqlite;

// A host application that embeds Nano-Run: shell units from conf.d, two C# units, the API under /api
// (behind the host's own authorization when Sample:RequireUser is set), the UI under /ui, and a page that
// uses NanoRunClient to call the API of this very application.
var builder = WebApplication.CreateBuilder(args);

var nanoRun = builder.Services.AddNanoRun(engine => engine.GracefulShutdown = TimeSpan.FromSeconds(10));
if (builder.Configuration.GetConnectionString("NanoRun") is { Length: > 0 } postgres)
{
    nanoRun.UsePostgres(postgres);
}
else
{
    nanoRun.UseSqlite(Path.Combine(builder.Environment.ContentRootPath, "run", "data"));
}

nanoRun
    .AddUnitsFromDirectory(Path.Combine(AppContext.BaseDirectory, "conf.d"))
    .AddUnit("word-count", unit =>
    {
        unit.Attempts = 3;
        unit.Interval = TimeSpan.FromSeconds(2);
        unit.MaxRequest = 64 * 1024 * 1024;
        unit.Handle(async (JobContext job, CancellationToken ct) =>
        {
            var counter = job.Services.GetRequiredService<WordCounter>();
            var words = await counter.CountAsync(job.RequestBody, ct);
            job.ResponseHeaders.Add(new("Content-Type", "text/plain"));
            await using var writer = new StreamWriter(job.ResponseBody, leaveOpen: true);
            await writer.WriteLineAsync($"{words} words");
        });
    })
    .AddUnit("reverse", unit =>
    {
        unit.Workers = 2;
        unit.Handle<ReverseHandler>();
    })
    .AddUi();
builder.Services.AddSingleton<WordCounter>();

var self = builder.Configuration["Sample:SelfUrl"] ?? "http://127.0.0.1:5080/";
builder.Services.AddNanoRunClient(new Uri(self));
builder.Services.AddAuthorization();

var app = builder.Build();
var api = app.MapNanoRun("/api");
if (builder.Configuration.GetValue<bool>("Sample:RequireUser"))
{
    // The host's own authentication decides; each unit's authorization still applies inside.
    api.RequireAuthorization();
}

app.MapNanoRunUi("/ui");
app.MapPost("/demo/count", async (HttpRequest request, NanoRunClient client, CancellationToken ct) =>
{
    var id = await client.EnqueueAsync("word-count", request.Body, [new("Content-Type", request.ContentType ?? "text/plain")], ct);
    await client.WaitAsync("word-count", id, TimeSpan.FromMinutes(1), ct);
    await using var result = await client.GetResultAsync("word-count", id, ct);
    using var reader = new StreamReader(result.Body);
    return Results.Text(await reader.ReadToEndAsync(ct));
});
app.MapGet("/", () => Results.Redirect("/ui/"));

app.Run(self);
