using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Admission;
using NanoRun.Scheduling;

namespace NanoRun.Server.Tests.Admission;

/// <summary>Every entry point of a request (API, retry, replay, UI form, schedule, library host) is refused by one admission, with one reason.</summary>
public sealed partial class EntryPointAdmissionTests
{
    // Fails at once on any body but "block", on which it holds its one worker for half a minute.
    private const string Command = "command: 'case \"$(cat)\" in block) sleep 30;; *) exit 1;; esac'\nworkers: 1\nattempts: 1\n";

    private const string DiskRule = "min_free_disk: 1000000000000000000\n";

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (var rule in new[] { "max_queue", "rate", "disk" })
        {
            foreach (var entry in new[] { "post", "put", "retry", "replay", "ui_form", "schedule", "library" })
            {
                cases.Add(rule, entry);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EntryPoint_UnitOverRule_RefusedWithTheSameStatusAndReason(string rule, string entry)
    {
        var schedule = entry == "schedule";
        var needsFailed = entry is "retry" or "replay";
        await using var world = TestWorld.Create(rule == "disk" && !needsFailed ? DiskRule : string.Empty);
        world.WithUnit("u", Command + rule switch
        {
            "max_queue" => "max_queue: 1\n",
            "rate" => "rate: 0.01\nburst: 1\n",
            _ => string.Empty,
        } + (schedule ? "cron:\n  - spec: '@every 1s'\n    content: block\n" : string.Empty));
        await world.StartAsync();
        var failed = needsFailed ? await FailedRequestAsync(world) : null;
        if (!schedule)
        {
            await BreakRuleAsync(world, rule, tokenTaken: needsFailed);
        }

        var (status, reason) = await EnterAsync(world, entry, failed);

        Assert.Equal(rule == "rate" ? HttpStatusCode.TooManyRequests : HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(rule switch
        {
            "max_queue" => "unit u already has max_queue (1) requests waiting",
            "rate" => "unit u accepts at most 0.01 requests per second (burst 1)",
            _ => "the data folder is low on free space",
        }, reason);
    }

    /// <summary>A request of the unit that failed, for retry and replay to send again.</summary>
    private static async Task<string> FailedRequestAsync(TestWorld world)
    {
        var id = await world.PostAsync("u", "fail");
        await world.WaitCompleteAsync("u", id);
        return id;
    }

    /// <summary>Brings the unit over the rule: one running and one waiting request, the rate's one token taken, or the disk guard switched on by a restart.</summary>
    private static async Task BreakRuleAsync(TestWorld world, string rule, bool tokenTaken)
    {
        switch (rule)
        {
            case "max_queue":
                // The waiting count is read from the store at most every quarter second, and counted up locally in between.
                await Task.Delay(300);
                var running = await world.PostAsync("u", "block");
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while ((await world.GetRecordAsync("u", running)).GetProperty("outcome").GetString() != "running")
                {
                    Assert.True(DateTime.UtcNow < deadline, $"request {running} never ran");
                    await Task.Delay(20);
                }

                await Task.Delay(300);
                await world.PostAsync("u", "block");
                break;
            case "rate" when !tokenTaken:
                await world.PostAsync("u", "x");
                break;
            case "disk" when tokenTaken:
                await world.StopAsync();
                File.AppendAllText(world.ServerYaml, DiskRule);
                await world.StartAsync();
                break;
        }
    }

    /// <summary>Sends one new request through <paramref name="entry"/>; returns the status (or its HTTP equivalent) and the reason the caller sees.</summary>
    private static async Task<(HttpStatusCode Status, string Reason)> EnterAsync(TestWorld world, string entry, string? failed)
    {
        switch (entry)
        {
            case "post":
                return await ProblemAsync(await world.Client.PostAsync("api/u/", new StringContent("x")));
            case "put":
                return await ProblemAsync(await world.Client.PutAsync("api/u/?wait=1s", new StringContent("x")));
            case "retry":
                return await ProblemAsync(await world.Client.PostAsync($"api/u/{failed}", null));
            case "replay":
                using (var replay = await world.Client.PostAsync("api/u/failed/retry", null))
                {
                    using var doc = JsonDocument.Parse(await replay.Content.ReadAsStringAsync());
                    return (replay.StatusCode, doc.RootElement.GetProperty("refused").GetProperty("message").GetString()!);
                }

            case "ui_form":
                return await SubmitFormAsync(world);
            case "schedule":
                var scheduler = world.Services.GetRequiredService<CronScheduler>();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                AdmissionResult? refusal;
                while ((refusal = scheduler.LastRefusal("u", 0)) is null)
                {
                    Assert.True(DateTime.UtcNow < deadline, "no tick was refused");
                    await Task.Delay(50);
                }

                return (StatusOf(refusal.Outcome), refusal.Reason);
            default:
                var queue = world.Services.GetRequiredService<INanoRunQueue>();
                var result = await queue.EnqueueAsync("u", "x"u8.ToArray());
                Assert.Null(result.Id);
                return (StatusOf(result.Admission.Outcome), result.Admission.Reason);
        }
    }

    /// <summary>The status HTTP answers for a refusal that reached no HTTP answer (a schedule, a library host).</summary>
    private static HttpStatusCode StatusOf(AdmissionOutcome outcome) => outcome switch
    {
        AdmissionOutcome.RateLimited => HttpStatusCode.TooManyRequests,
        AdmissionOutcome.QueueFull or AdmissionOutcome.DiskLow => HttpStatusCode.ServiceUnavailable,
        _ => HttpStatusCode.InternalServerError,
    };

    private static async Task<(HttpStatusCode Status, string Reason)> ProblemAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.False(response.Headers.Contains("X-Correlation-Id"));
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (response.StatusCode, problem.RootElement.GetProperty("detail").GetString()!);
        }
    }

    private static async Task<(HttpStatusCode Status, string Reason)> SubmitFormAsync(TestWorld world)
    {
        var page = await world.Client.GetStringAsync("ui/units/u");
        var form = new MultipartFormDataContent
        {
            { new StringContent("x"), "payload" },
            { new StringContent(TokenField().Match(page).Groups[1].Value), "__RequestVerificationToken" },
        };
        using var submit = await world.Client.PostAsync("ui/units/u", form);
        var html = await submit.Content.ReadAsStringAsync();
        var shown = NotQueued().Match(html);
        Assert.True(shown.Success, html);
        return (submit.StatusCode, WebUtility.HtmlDecode(shown.Groups[1].Value));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex("Nothing was stored: (.*?)\\. Try again in")]
    private static partial Regex NotQueued();
}
