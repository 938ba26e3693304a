using System.Globalization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NanoRun.Metrics;
using NanoRun.Queue;
using NanoRun.Storage;
using NanoRun.Tracing;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace NanoRun.Server.Operations;

/// <summary>What an operator scrapes and probes: <c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c>, <c>/api/openapi.json</c>, and the log format.</summary>
internal static class HostOperations
{
    /// <summary>Path of the OpenAPI document of the API.</summary>
    public const string OpenApiPath = "/api/openapi.json";

    /// <summary>Tag of the health checks that <c>/readyz</c> runs.</summary>
    private const string ReadyTag = "ready";

    /// <summary>Registers logging format, metrics exporter, trace exporter and health checks.</summary>
    public static void Add(WebApplicationBuilder builder, ServerOptions options)
    {
        if (options.LogFormat == "json")
        {
            builder.Logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            });
        }

        if (options.Metrics.Enabled)
        {
            // Every metric stream allocates its whole cardinality up front (2000 points by default, about 3 MB on the large
            // object heap over the ~30 instruments here). The runtime and hosting instruments carry a handful of series
            // each; the product's own are labelled by unit, status class and state, which stays far below 1000 series.
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
                .AddMeter(INanoRunMeter.Name, "System.Runtime", "Microsoft.AspNetCore.Hosting")
                .AddView(instrument => new MetricStreamConfiguration { CardinalityLimit = instrument.Meter.Name == INanoRunMeter.Name ? 1000 : 100 })
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        }

        if (options.Tracing.TracesUrl is { } tracesUrl)
        {
            // Off by default: without a collector no tracer provider exists, nothing listens to the engine's source, and
            // no span is made.
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService("nano-run", serviceInstanceId: options.NodeName))
                .WithTracing(tracing => tracing
                    .AddSource(NanoRunActivitySource.Name)
                    .AddOtlpExporter(otlp =>
                    {
                        otlp.Endpoint = tracesUrl;
                        otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
                    }));
        }

        builder.Services.AddHealthChecks()
            .Add(new HealthCheckRegistration(
                "store",
                static sp => new StoreReadinessCheck(sp.GetRequiredService<StoreCircuit>()),
                HealthStatus.Unhealthy,
                [ReadyTag],
                TimeSpan.FromSeconds(5)))
            .Add(new HealthCheckRegistration(
                "disk",
                static sp => new DiskReadinessCheck(sp.GetRequiredService<EngineOptions>()),
                HealthStatus.Unhealthy,
                [ReadyTag],
                TimeSpan.FromSeconds(5)));
    }

    /// <summary>Maps the probes, the OpenAPI document and (when enabled) the scrape endpoint, only on the metrics listener when it has its own.</summary>
    public static void Map(WebApplication app, ServerOptions options)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = static _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = static check => check.Tags.Contains(ReadyTag) });
        app.MapGet(OpenApiPath, (RequestDelegate)OpenApiDocument.ServeAsync);
        if (!options.Metrics.Enabled)
        {
            return;
        }

        var path = new PathString(options.Metrics.Path);
        int? port = options.Metrics.Bind.Length == 0 ? null : Port(options.Metrics.Bind);
        if (port is { } metricsPort)
        {
            // The metrics listener serves the scrape endpoint and nothing else.
            app.Use(async (context, next) =>
            {
                if (context.Connection.LocalPort == metricsPort && !context.Request.Path.Equals(path, StringComparison.Ordinal))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }

                await next(context).ConfigureAwait(false);
            });
        }

        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null,
            predicate: context => context.Request.Path.Equals(path, StringComparison.Ordinal) && (port is null || context.Connection.LocalPort == port),
            path: null,
            configureBranchedPipeline: static branch => branch.Use(static async (context, next) =>
            {
                // Queue gauges come from the store, read at most once a second however often the endpoint is scraped.
                await context.RequestServices.GetRequiredService<INanoRunMeter>().RefreshQueueGaugesAsync(context.RequestAborted).ConfigureAwait(false);
                await next(context).ConfigureAwait(false);
            }),
            optionsName: null);
    }

    /// <summary>The port of a <c>host:port</c> bind address (validated by the configuration loader).</summary>
    public static int Port(string bind) => int.Parse(bind.AsSpan(bind.LastIndexOf(':') + 1), CultureInfo.InvariantCulture);
}
