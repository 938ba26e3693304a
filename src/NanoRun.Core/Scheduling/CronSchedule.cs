using System.Diagnostics.CodeAnalysis;
using Cronos;
using NanoRun.Units;

namespace NanoRun.Scheduling;

/// <summary>
/// When a schedule entry fires: a cron expression (5 fields, or 6 with seconds first) evaluated in a time zone, a macro,
/// or <c>@every DURATION</c>.
/// </summary>
/// <remarks>
/// <c>@every</c> ticks sit on a grid of whole periods counted from the Unix epoch, not from the process start, so every
/// node of a shared deployment computes the same tick times and a store-level key can queue each tick once.
/// </remarks>
internal sealed class CronSchedule
{
    /// <summary>Shortest <c>@every</c> period: a shorter one would queue faster than a schedule is meant to.</summary>
    public static readonly TimeSpan MinPeriod = TimeSpan.FromSeconds(1);

    private const string EveryPrefix = "@every";

    private readonly CronExpression? _expression;
    private readonly TimeZoneInfo _zone;
    private readonly long _periodTicks;

    private CronSchedule(CronExpression? expression, TimeZoneInfo zone, long periodTicks)
    {
        _expression = expression;
        _zone = zone;
        _periodTicks = periodTicks;
    }

    /// <summary>Parses <paramref name="spec"/> for the IANA <paramref name="timeZone"/> (UTC when <c>null</c>); on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(
        string spec,
        string? timeZone,
        [NotNullWhen(true)] out CronSchedule? schedule,
        [NotNullWhen(false)] out string? error)
    {
        schedule = null;
        var zone = TimeZoneInfo.Utc;
        if (timeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out zone))
        {
            error = $"unknown time zone '{timeZone}'";
            return false;
        }

        spec = spec.Trim();
        if (spec.Length == 0)
        {
            error = "must be set: a 5-field cron expression, a macro such as @daily, or @every DURATION";
            return false;
        }

        if (spec.StartsWith(EveryPrefix, StringComparison.OrdinalIgnoreCase)
            && (spec.Length == EveryPrefix.Length || char.IsWhiteSpace(spec[EveryPrefix.Length])))
        {
            return TryParseEvery(spec, zone, out schedule, out error);
        }

        var fields = spec;
        if (spec[0] == '@')
        {
            fields = Macro(spec);
            if (fields is null)
            {
                error = $"unknown macro '{spec}'; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every DURATION";
                return false;
            }
        }

        var count = fields.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Length;
        if (count is not (5 or 6))
        {
            error = $"'{spec}' has {count} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)";
            return false;
        }

        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(fields, count == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            error = $"'{spec}' is not a valid cron expression: {e.Message}";
            return false;
        }

        // Without a year field an expression that fires at all fires within four years of any start.
        schedule = new CronSchedule(expression, zone, 0);
        if (schedule.NextAfter(DateTimeOffset.UnixEpoch) is null)
        {
            schedule = null;
            error = $"'{spec}' never fires";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>The first tick strictly after <paramref name="after"/>, in UTC, or <c>null</c> when there is none.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after)
    {
        if (_expression is null)
        {
            var sinceEpoch = after.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
            var periods = (sinceEpoch / _periodTicks) + 1;
            if (sinceEpoch < 0 && sinceEpoch % _periodTicks != 0)
            {
                periods--;
            }

            return new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + (periods * _periodTicks), TimeSpan.Zero);
        }

        return _expression.GetNextOccurrence(after, _zone)?.ToUniversalTime();
    }

    private static bool TryParseEvery(string spec, TimeZoneInfo zone, [NotNullWhen(true)] out CronSchedule? schedule, [NotNullWhen(false)] out string? error)
    {
        schedule = null;
        var text = spec[EveryPrefix.Length..].Trim();
        if (!GoDuration.TryParse(text, out var period) || period <= TimeSpan.Zero)
        {
            error = $"@every needs a positive duration such as 30s or 1h, got '{spec}'";
            return false;
        }

        if (period < MinPeriod)
        {
            error = $"@every needs a period of at least 1s, got '{spec}'";
            return false;
        }

        schedule = new CronSchedule(null, zone, period.Ticks);
        error = null;
        return true;
    }

    private static string? Macro(string spec) => spec.ToUpperInvariant() switch
    {
        "@YEARLY" or "@ANNUALLY" => "0 0 1 1 *",
        "@MONTHLY" => "0 0 1 * *",
        "@WEEKLY" => "0 0 * * 0",
        "@DAILY" or "@MIDNIGHT" => "0 0 * * *",
        "@HOURLY" => "0 * * * *",
        _ => null,
    };
}
