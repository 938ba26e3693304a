using Microsoft.Extensions.Options;
using NanoRun.Callbacks;
using NanoRun.Queue;
using NanoRun.Retention;

namespace NanoRun;

/// <summary>Checks the engine's options when the host starts; each failure names the configuration key (under <c>NanoRun</c>) and the value.</summary>
internal sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>, IValidateOptions<RetentionOptions>, IValidateOptions<CallbackOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.NodeId))
        {
            errors.Add("NanoRun:Engine:NodeId must not be empty");
        }

        Positive(errors, "NanoRun:Engine:LeaseDuration", options.LeaseDuration);
        Positive(errors, "NanoRun:Engine:PollInterval", options.PollInterval);
        NotNegative(errors, "NanoRun:Engine:GracefulShutdown", options.GracefulShutdown);
        if (options.MinFreeDisk < 0)
        {
            errors.Add($"NanoRun:Engine:MinFreeDisk must be 0 (off) or a number of bytes, not {options.MinFreeDisk}");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var errors = new List<string>();
        if (options.MaxAge is { } maxAge)
        {
            Positive(errors, "NanoRun:Retention:MaxAge", maxAge);
        }

        if (options.MaxCount is < 0)
        {
            errors.Add($"NanoRun:Retention:MaxCount must be 0 or more, not {options.MaxCount}");
        }

        Positive(errors, "NanoRun:Retention:Interval", options.Interval);
        if (options.BatchSize < 1)
        {
            errors.Add($"NanoRun:Retention:BatchSize must be 1 or more, not {options.BatchSize}");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, CallbackOptions options)
    {
        var errors = new List<string>();
        if (options.MaxAttempts < 1)
        {
            errors.Add($"callbacks: the most delivery tries must be 1 or more, not {options.MaxAttempts}");
        }

        Positive(errors, "callbacks: the first retry pause", options.FirstRetry);
        Positive(errors, "callbacks: the longest retry pause", options.MaxRetry);
        Positive(errors, "callbacks: the timeout of one try", options.Timeout);
        if (options.Batch < 1)
        {
            errors.Add($"callbacks: the batch must be 1 or more, not {options.Batch}");
        }

        return Result(errors);
    }

    /// <summary>Adds an error unless <paramref name="value"/> is more than zero.</summary>
    internal static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be more than zero, not {value}");
        }
    }

    /// <summary>Adds an error when <paramref name="value"/> is below zero.</summary>
    internal static void NotNegative(List<string> errors, string key, TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            errors.Add($"{key} must be zero or more, not {value}");
        }
    }

    /// <summary>Success when <paramref name="errors"/> is empty, else a failure listing every error.</summary>
    internal static ValidateOptionsResult Result(List<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
