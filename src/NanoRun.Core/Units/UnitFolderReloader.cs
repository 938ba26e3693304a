using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NanoRun.Maintenance;
using NanoRun.Runners;

namespace NanoRun.Units;

/// <summary>Where unit files are reloaded from, and whether the folder is watched.</summary>
internal sealed class UnitFolderOptions
{
    /// <summary>The config folder as the user named it; files are named this way in messages.</summary>
    public required string Directory { get; init; }

    /// <summary>When <c>false</c> only <see cref="UnitFolderReloader.RequestReload"/> (SIGHUP) reloads; default <c>true</c>.</summary>
    public bool Watch { get; init; } = true;

    /// <summary>Quiet time after the last change before a reload, so that an editor's save sequence is read once; default 250 ms.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest a stream of changes may put a reload off; default 2 seconds.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Reloads the unit files of the config folder into the <see cref="UnitCatalog"/> when the folder changes or a reload is
/// requested. A file that fails to load is reported and its unit keeps its previous version (or stays absent when new);
/// a unit whose file text is unchanged keeps its definition object, so its worker and schedules carry on untouched.
/// </summary>
internal sealed partial class UnitFolderReloader : BackgroundRole, IUnitReloader
{
    private readonly UnitCatalog _catalog;
    private readonly AttemptRunnerSelector _runners;
    private readonly UnitFolderOptions _options;
    private readonly ILogger<UnitFolderReloader> _logger;
    private readonly SemaphoreSlim _requested = new(0, int.MaxValue);
    private readonly Lock _reloadLock = new();
    private FileSystemWatcher? _watcher;
    private IReadOnlyDictionary<string, string> _problems = new Dictionary<string, string>();

    public UnitFolderReloader(UnitCatalog catalog, AttemptRunnerSelector runners, UnitFolderOptions options, ILogger<UnitFolderReloader> logger)
        : base(TimeProvider.System)
    {
        _catalog = catalog;
        _runners = runners;
        _options = options;
        _logger = logger;
    }

    /// <summary>Unit files that failed to load on the last reload, by file, with the error; empty when all loaded.</summary>
    public IReadOnlyDictionary<string, string> Problems => Volatile.Read(ref _problems);

    /// <summary>Registers the reloader as a hosted service, after the engine and the scheduler.</summary>
    public static void Register(IServiceCollection services, UnitFolderOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<UnitFolderReloader>();
        services.AddSingleton<IUnitReloader>(static sp => sp.GetRequiredService<UnitFolderReloader>());
        services.AddHostedService(static sp => sp.GetRequiredService<UnitFolderReloader>());
    }

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        if (_options.Watch)
        {
            _watcher = TryWatch();
        }

        Run(LoopAsync);
        if (_watcher is not null)
        {
            // Catches a change made between the start-up load and the watcher.
            RequestReload();
        }

        return Task.CompletedTask;
    }

    protected override Task OnStoppingAsync(CancellationToken cancellationToken)
    {
        _watcher?.Dispose();
        return Task.CompletedTask;
    }

    protected override ValueTask OnDisposeAsync()
    {
        _requested.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Asks for a reload after the debounce time; safe from any thread and from a signal handler.</summary>
    public void RequestReload()
    {
        try
        {
            _requested.Release();
        }
        catch (ObjectDisposedException)
        {
            // Stopped already.
        }
    }

    /// <summary>Reads the folder once and puts the result in force; returns whether the units changed.</summary>
    public bool ReloadNow()
    {
        lock (_reloadLock)
        {
            var root = Path.GetFullPath(_options.Directory);
            List<string> files;
            try
            {
                files = Directory.Exists(root) ? UnitLoader.ListUnitFiles(root) : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogFolderUnreadable(_logger, _options.Directory, e.Message);
                return false;
            }

            var current = new Dictionary<string, UnitDefinition>(StringComparer.Ordinal);
            foreach (var unit in _catalog.All)
            {
                current.Add(unit.Name, unit);
            }

            var next = new List<UnitDefinition>(files.Count);
            var problems = new Dictionary<string, string>(StringComparer.Ordinal);

            // Routes match unit names without regard to case, so two names differing only in case collide.
            var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var unit in current.Values)
            {
                if (unit.SourceFile is null)
                {
                    // Units defined in code are not the folder's to remove.
                    next.Add(unit);
                    owners.Add(unit.Name, "a unit defined in code");
                }
            }

            foreach (var relative in files)
            {
                var displayName = Path.Combine(_options.Directory, relative);
                var name = UnitLoader.NameOf(relative);
                var previous = current.GetValueOrDefault(name);
                if (owners.TryGetValue(name, out var owner))
                {
                    var message = $"{displayName}: unit name '{name}' is already taken by {owner}";
                    problems[displayName] = message;
                    LogUnitFileBroken(_logger, message, "the file is ignored");
                    continue;
                }

                owners.Add(name, displayName);
                UnitDefinition loaded;
                try
                {
                    loaded = UnitLoader.LoadFile(Path.Combine(root, relative), name, displayName);
                    _runners.Check(loaded);
                    RunAsUser.Validate([loaded]);
                }
                catch (UnitConfigException e)
                {
                    problems[displayName] = e.Message;
                    LogUnitFileBroken(_logger, e.Message, previous is null ? "the unit is not added" : "the previous version keeps running");
                    if (previous is not null)
                    {
                        next.Add(previous);
                    }

                    continue;
                }

                var unchanged = previous is not null
                    && string.Equals(previous.SourceFile, loaded.SourceFile, StringComparison.Ordinal)
                    && string.Equals(previous.SourceText, loaded.SourceText, StringComparison.Ordinal);
                next.Add(unchanged ? previous! : loaded);
            }

            Volatile.Write(ref _problems, problems);
            if (!Differs(current, next))
            {
                return false;
            }

            _catalog.Replace(next);
            LogReloaded(_logger, next.Count, _options.Directory);
            return true;
        }
    }

    private static bool Differs(Dictionary<string, UnitDefinition> current, List<UnitDefinition> next)
    {
        if (current.Count != next.Count)
        {
            return true;
        }

        foreach (var unit in next)
        {
            if (!current.TryGetValue(unit.Name, out var old) || !ReferenceEquals(old, unit))
            {
                return true;
            }
        }

        return false;
    }

    private FileSystemWatcher? TryWatch()
    {
        try
        {
            var watcher = new FileSystemWatcher(Path.GetFullPath(_options.Directory))
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            watcher.Changed += OnFolderEvent;
            watcher.Created += OnFolderEvent;
            watcher.Deleted += OnFolderEvent;
            watcher.Renamed += OnFolderEvent;
            watcher.Error += OnWatchError;
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is ArgumentException or IOException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            LogNotWatched(_logger, _options.Directory, e.Message);
            return null;
        }
    }

    private void OnFolderEvent(object sender, FileSystemEventArgs e) => RequestReload();

    private void OnWatchError(object sender, ErrorEventArgs e)
    {
        // Lost events (a full inotify queue): read everything again.
        LogWatchError(_logger, _options.Directory, e.GetException().Message);
        RequestReload();
    }

    private Task LoopAsync(CancellationToken stop) =>
        RepeatAsync(ReloadWhenAskedAsync, e => LogReloadFailed(_logger, e), Backoff.Default, stop);

    private async Task ReloadWhenAskedAsync(CancellationToken stop)
    {
        await _requested.WaitAsync(stop).ConfigureAwait(false);

        // Wait for a quiet moment, but not longer than MaxDelay in all.
        var started = Environment.TickCount64;
        while (await _requested.WaitAsync(_options.Debounce, stop).ConfigureAwait(false)
            && Environment.TickCount64 - started < _options.MaxDelay.TotalMilliseconds)
        {
        }

        while (_requested.CurrentCount > 0)
        {
            await _requested.WaitAsync(0, stop).ConfigureAwait(false);
        }

        ReloadNow();
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Units reloaded from {Folder}: {Count} units in force")]
    private static partial void LogReloaded(ILogger logger, int count, string folder);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Unit file error: {Error}; {Outcome}")]
    private static partial void LogUnitFileBroken(ILogger logger, string error, string outcome);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Error, Message = "Config folder {Folder} cannot be listed ({Reason}); units stay as they are")]
    private static partial void LogFolderUnreadable(ILogger logger, string folder, string reason);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Config folder {Folder} is not watched ({Reason}); send SIGHUP to reload units")]
    private static partial void LogNotWatched(ILogger logger, string folder, string reason);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Warning, Message = "Watching config folder {Folder} lost events ({Reason}); reloading everything")]
    private static partial void LogWatchError(ILogger logger, string folder, string reason);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Error, Message = "Reloading units failed; the units in force stay")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);
}
