using NanoRun;
using NanoRun.AspNetCore;
using NanoRun.Samples.CustomRunner;
using NanoRun.Storage.Sqlite;

// A host that adds its own mode, "checksum", and a unit that uses it: POST /api/sha256/ with any body queues a
// request; its result is the body's SHA-256 in hex. The runner is registered by name like the built-in modes.
var builder = WebApplication.CreateBuilder(args);

builder.Services.AddNanoRun()
    .UseSqlite(Path.Combine(builder.Environment.ContentRootPath, "run", "data"))
    .AddRunner<ChecksumRunner>("checksum")
    .AddUnit("sha256", unit =>
    {
        unit.Mode = "checksum";
        unit.Attempts = 2;
        unit.MaxRequest = 256 * 1024 * 1024;
    });

var app = builder.Build();
app.MapNanoRun("/api");
app.MapGet("/", () => "POST a body to /api/sha256/; GET /api/sha256/{id}/completed gives its SHA-256.");
app.Run();
