using Microsoft.Extensions.Options;

namespace NanoRun.AspNetCore;

/// <summary>Checks the API's and the UI's options when the host starts; each failure names the configuration key (under <c>NanoRun</c>) and the value.</summary>
internal sealed class WebOptionsValidator : IValidateOptions<ApiOptions>, IValidateOptions<UiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var errors = new List<string>();
        Positive(errors, "NanoRun:Api:WaitTime", options.WaitTime);
        Positive(errors, "NanoRun:Api:MaxWait", options.MaxWait);
        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, UiOptions options)
    {
        var errors = new List<string>();
        if (options.PageSize < 1)
        {
            errors.Add($"NanoRun:Ui:PageSize must be 1 or more, not {options.PageSize}");
        }

        return Result(errors);
    }

    private static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be more than zero, not {value}");
        }
    }

    private static ValidateOptionsResult Result(List<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
