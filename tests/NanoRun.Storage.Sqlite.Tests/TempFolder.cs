namespace NanoRun.Storage;

/// <summary>A fresh folder under the system temp folder, removed on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Join(System.IO.Path.GetTempPath(), "nano-run-tests", Guid.NewGuid().ToString("N"));

    /// <summary>Every file under the folder, relative to it.</summary>
    public string[] Files(string? under = null)
    {
        var root = under is null ? Path : System.IO.Path.Join(Path, under);
        return Directory.Exists(root)
            ? Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(root, f)).ToArray()
            : [];
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
