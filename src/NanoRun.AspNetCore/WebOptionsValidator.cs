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

        if (options.Auth?.OAuth2 is { } provider)
        {
            Required(errors, "NanoRun:Ui:Auth:OAuth2:ClientId", provider.ClientId);
            Required(errors, "NanoRun:Ui:Auth:OAuth2:ClientSecret", provider.ClientSecret);
            HttpUrl(errors, "NanoRun:Ui:Auth:OAuth2:AuthUrl", provider.AuthUrl);
            HttpUrl(errors, "NanoRun:Ui:Auth:OAuth2:TokenUrl", provider.TokenUrl);
            HttpUrl(errors, "NanoRun:Ui:Auth:OAuth2:ProfileUrl", provider.ProfileUrl);
        }

        if (options.Auth is { } auth)
        {
            for (var i = 0; i < auth.Viewers.Count; i++)
            {
                var viewer = auth.Viewers[i];
                if (string.IsNullOrWhiteSpace(viewer))
                {
                    errors.Add($"NanoRun:Ui:Auth:Viewers:{i} must not be empty");
                }
                else if (auth.AllowedUsers.Contains(viewer, StringComparer.OrdinalIgnoreCase))
                {
                    errors.Add($"NanoRun:Ui:Auth:Viewers:{i} '{viewer}' is also in NanoRun:Ui:Auth:AllowedUsers; a login is either a user or a read-only viewer");
                }
            }
        }

        return Result(errors);
    }

    private static void Required(List<string> errors, string key, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{key} must be set");
        }
    }

    private static void HttpUrl(List<string> errors, string key, Uri? value)
    {
        if (value is not { IsAbsoluteUri: true } || (value.Scheme != Uri.UriSchemeHttp && value.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{key} must be an absolute http or https URL, not '{value}'");
        }
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
