namespace NanoRun.Core.Tests;

/// <summary>The checkout the tests run from, for tests that hold code to the documents beside it.</summary>
internal static class RepositoryFolder
{
    /// <summary>The folder holding <c>NanoRun.slnx</c>, found upwards from the test assembly.</summary>
    public static string Root { get; } = Find();

    /// <summary>A file of the checkout by its path parts, e.g. <c>Path("docs", "configuration.md")</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Find()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(System.IO.Path.Combine(folder.FullName, "NanoRun.slnx")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("NanoRun.slnx not found above " + AppContext.BaseDirectory);
    }
}
