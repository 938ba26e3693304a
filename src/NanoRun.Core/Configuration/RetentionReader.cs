using NanoRun.Units;

namespace NanoRun.Configuration;

/// <summary>Reads a <c>retention: { max_age, max_count }</c> section of a unit file or <c>server.yaml</c>.</summary>
internal static class RetentionReader
{
    /// <summary>Largest accepted <c>max_count</c>.</summary>
    public const int MaxCount = 100_000_000;

    /// <summary>Returns the policy of <paramref name="section"/>, or <paramref name="fallback"/> when the section is absent; a key left out keeps no limit of that kind.</summary>
    public static RetentionPolicy? Read(YamlSection? section, RetentionPolicy? fallback)
    {
        if (section is null)
        {
            return fallback;
        }

        section.AllowOnly(ServerConfigKeys.Retention);
        var maxAge = section.GetDuration("max_age", allowZero: false);
        var maxCount = section.Has("max_count") ? (int?)section.GetInteger("max_count", 0, 1, MaxCount) : null;
        return new RetentionPolicy { MaxAge = maxAge, MaxCount = maxCount };
    }
}
