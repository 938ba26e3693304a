using Microsoft.Extensions.Logging.Abstractions;
using NanoRun.Core.Tests.Runners;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Units;

public sealed class UnitFolderReloaderTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public void ReloadNow_FilesAddedChangedAndRemoved_CatalogFollowsAndKeepsUntouchedUnits()
    {
        using var folder = new TempDirectory();
        folder.Write("same.yaml", "command: echo same\n");
        folder.Write("changed.yaml", "command: echo before\n");
        folder.Write("gone.yaml", "command: echo gone\n");
        var catalog = new UnitCatalog(UnitLoader.LoadDirectory(folder.Path));
        var same = catalog.Find("same");
        var gone = catalog.Find("gone");
        var reloader = Reloader(catalog, folder.Path, watch: false);

        folder.Write("changed.yaml", "command: echo after\n");
        folder.Write("sub/added.yaml", "command: echo added\n");
        File.Delete(Path.Combine(folder.Path, "gone.yaml"));
        var changed = reloader.ReloadNow();
        var again = reloader.ReloadNow();

        Assert.True(changed);
        Assert.False(again);
        Assert.Equal(1, catalog.Version);
        Assert.Same(same, catalog.Find("same"));
        Assert.Equal("echo after", catalog.Find("changed")!.Command);
        Assert.Equal("echo added", catalog.Find("sub-added")!.Command);
        Assert.Null(catalog.Find("gone"));
        Assert.Same(gone, catalog.FindRemoved("gone"));
        Assert.Empty(reloader.Problems);
    }

    [Fact]
    public void ReloadNow_BrokenFiles_KeepPreviousVersionAndReportFileAndKey()
    {
        using var folder = new TempDirectory();
        folder.Write("job.yaml", "command: echo one\n");
        var catalog = new UnitCatalog(UnitLoader.LoadDirectory(folder.Path));
        var job = catalog.Find("job");
        var reloader = Reloader(catalog, folder.Path, watch: false);

        folder.Write("job.yaml", "command: echo two\nworkers: -1\n");
        folder.Write("new.yaml", "cron:\n  - spec: '@every soon'\n");
        var changed = reloader.ReloadNow();

        Assert.False(changed);
        Assert.Same(job, catalog.Find("job"));
        Assert.Null(catalog.Find("new"));
        Assert.Equal(2, reloader.Problems.Count);
        Assert.Contains("key 'workers'", reloader.Problems[Path.Combine(folder.Path, "job.yaml")], StringComparison.Ordinal);
        Assert.Contains("key 'cron[0].spec'", reloader.Problems[Path.Combine(folder.Path, "new.yaml")], StringComparison.Ordinal);
    }

    [Fact]
    public void ReloadNow_UnitRemovedThenAddedAgain_IsNoLongerListedAsRemoved()
    {
        using var folder = new TempDirectory();
        folder.Write("job.yaml", "command: echo one\n");
        var catalog = new UnitCatalog(UnitLoader.LoadDirectory(folder.Path));
        var reloader = Reloader(catalog, folder.Path, watch: false);
        File.Delete(Path.Combine(folder.Path, "job.yaml"));
        reloader.ReloadNow();

        folder.Write("job.yaml", "command: echo back\n");
        reloader.ReloadNow();

        Assert.Equal("echo back", catalog.Find("job")!.Command);
        Assert.Null(catalog.FindRemoved("job"));
        Assert.Empty(catalog.Removed);
    }

    [Fact]
    public void ReloadNow_UnitsDefinedInCodeAndNameClash_CodeUnitStaysAndClashIsReported()
    {
        using var folder = new TempDirectory();
        var inCode = new UnitDefinition { Name = "main", Command = "echo code" };
        var catalog = new UnitCatalog([inCode]);
        var reloader = Reloader(catalog, folder.Path, watch: false);

        folder.Write("Main.yaml", "command: echo file\n");
        folder.Write("other.yaml", "command: echo other\n");
        reloader.ReloadNow();

        Assert.Same(inCode, catalog.Find("main"));
        Assert.NotNull(catalog.Find("other"));
        Assert.Contains("already taken by a unit defined in code", Assert.Single(reloader.Problems).Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_FileWritten_CatalogChangesAndRaisesChanged()
    {
        using var folder = new TempDirectory();
        var catalog = new UnitCatalog([]);
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        catalog.Changed += () => changed.TrySetResult();
        await using var reloader = Reloader(catalog, folder.Path, watch: true);
        await reloader.StartAsync(CancellationToken.None);

        folder.Write("deep/er/job.yaml", "command: echo watched\n");
        await changed.Task.WaitAsync(Patience);

        Assert.Equal("echo watched", catalog.Find("deep-er-job")!.Command);
    }

    private static UnitFolderReloader Reloader(UnitCatalog catalog, string folder, bool watch) =>
        new(catalog, TestRunners.ShellAndProxy(), new UnitFolderOptions { Directory = folder, Watch = watch, Debounce = TimeSpan.FromMilliseconds(50) }, NullLogger<UnitFolderReloader>.Instance);
}
