using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace NanoRun.Storage.PostgreSql;

/// <summary>A throwaway PostgreSQL cluster for this test process: <c>initdb</c> into a temp folder, a server listening only on
/// a unix socket in that folder, one fresh database per test, and the whole cluster stopped and removed at exit.</summary>
/// <remarks>
/// The shared cluster is started once, on first use, and used by every test of the process; state is never shared, since
/// each test gets its own database. A test that stops or restarts the server starts a private cluster of its own. As root the server runs as the <c>postgres</c> user (initdb refuses root). Without PostgreSQL's server binaries
/// every test that needs it fails with a message saying what to install.
/// </remarks>
internal sealed class PostgreSqlCluster : IAsyncDisposable
{
    private const string SearchedFolders = "/usr/lib/postgresql/*/bin and PATH";
    private const int Port = 5432;
    private const string ClusterFolderPrefix = "nano-run-pg-";

    private static readonly Lazy<Task<PostgreSqlCluster>> Instance = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string _binaries;
    private readonly string _root;
    private readonly bool _asPostgresUser;
    private readonly NpgsqlDataSource _admin;
    private int _stopped;

    private PostgreSqlCluster(string binaries, string root, bool asPostgresUser)
    {
        _binaries = binaries;
        _root = root;
        _asPostgresUser = asPostgresUser;
        _admin = NpgsqlDataSource.Create(ConnectionString("postgres"));
    }

    private string SocketDirectory => Path.Combine(_root, "socket");

    private string DataDirectory => Path.Combine(_root, "data");

    /// <summary>The shared cluster, started on first use.</summary>
    public static Task<PostgreSqlCluster> SharedAsync() => Instance.Value;

    /// <summary>Starts a cluster of the caller's own, to stop and restart under running servers; dispose removes it.</summary>
    public static Task<PostgreSqlCluster> StartPrivateAsync() => StartAsync();

    /// <summary>Stops the server fast (open connections are cut); the data stays for <see cref="StartServerAsync"/>.</summary>
    public Task StopServerAsync() => RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"]);

    /// <summary>Starts the stopped server again on the same socket.</summary>
    public Task StartServerAsync() =>
        RunToolAsync("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "120", "start"]);

    /// <summary>Restarts the server as an operator does (<c>pg_ctl restart -m fast</c>): every open connection is cut.</summary>
    public Task RestartServerAsync() =>
        RunToolAsync("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_root, "server.log"), "-m", "fast", "-w", "-t", "120", "restart"]);

    /// <summary>Stops the server and removes the cluster's folder.</summary>
    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        var name = "test_" + Guid.NewGuid().ToString("N");
        await using var command = _admin.CreateCommand($"CREATE DATABASE {name}");
        await command.ExecuteNonQueryAsync();
        return new TestDatabase(this, name, ConnectionString(name));
    }

    internal async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var command = _admin.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await command.ExecuteNonQueryAsync();
    }

    private string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = SocketDirectory,
        Port = Port,
        Database = database,
        Username = "postgres",
        MaxPoolSize = 20,
        Timeout = 60,
        CommandTimeout = 120,
    }.ConnectionString;

    private static async Task<PostgreSqlCluster> StartAsync()
    {
        var binaries = FindBinaries() ?? throw new InvalidOperationException(
            $"PostgreSQL server binaries (initdb, pg_ctl) were not found in {SearchedFolders}. Install them, e.g. `apt-get install -y postgresql`; the shared-store tests need a real server.");
        RemoveStaleClusters();
        var root = Path.Combine(Path.GetTempPath(), ClusterFolderPrefix + Guid.NewGuid().ToString("N")[..12]);
        var asPostgresUser = Environment.IsPrivilegedProcess;
        var cluster = new PostgreSqlCluster(binaries, root, asPostgresUser);
        Directory.CreateDirectory(cluster.SocketDirectory);
        if (asPostgresUser)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", root]);
        }

        await cluster.RunToolAsync("initdb", ["-D", cluster.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);

        // Unix socket only (no TCP port to collide with); durability settings off because a test cluster never survives a crash.
        string[] settings =
        [
            "listen_addresses = ''",
            $"unix_socket_directories = '{cluster.SocketDirectory}'",
            $"port = {Port}",
            "max_connections = 400",
            "shared_buffers = 32MB",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
        ];
        await File.AppendAllLinesAsync(Path.Combine(cluster.DataDirectory, "postgresql.conf"), settings);
        await cluster.RunToolAsync("pg_ctl", ["-D", cluster.DataDirectory, "-l", Path.Combine(root, "server.log"), "-w", "-t", "120", "start"]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
        return cluster;
    }

    /// <summary>Removes clusters of earlier test processes that could not clean up (their server is gone, folder over 30 minutes old); running ones stay.</summary>
    private static void RemoveStaleClusters()
    {
        foreach (var folder in Directory.GetDirectories(Path.GetTempPath(), ClusterFolderPrefix + "*"))
        {
            var pidFile = Path.Combine(folder, "data", "postmaster.pid");
            try
            {
                // A young folder without a server may be another process's cluster still inside initdb.
                if (DateTime.UtcNow - Directory.GetCreationTimeUtc(folder) < TimeSpan.FromMinutes(30))
                {
                    continue;
                }

                if (File.Exists(pidFile)
                    && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), CultureInfo.InvariantCulture, out var pid)
                    && Directory.Exists($"/proc/{pid}"))
                {
                    continue;
                }

                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Another test process is cleaning it up.
            }
        }
    }

    private static string? FindBinaries()
    {
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var newest = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), CultureInfo.InvariantCulture, out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")) && File.Exists(Path.Combine(d.Dir, "pg_ctl")))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
            {
                return newest.Dir;
            }
        }

        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(folder, "initdb")) && File.Exists(Path.Combine(folder, "pg_ctl")))
            {
                return folder;
            }
        }

        return null;
    }

    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        try
        {
            _admin.Dispose();
            NpgsqlConnection.ClearAllPools();
            RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Already stopped; the folder still goes.
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Task RunToolAsync(string tool, string[] args)
    {
        var path = Path.Combine(_binaries, tool);
        return _asPostgresUser ? RunAsync("runuser", ["-u", "postgres", "--", path, .. args]) : RunAsync(path, args);
    }

    private static async Task RunAsync(string file, string[] args)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }
}

/// <summary>One test's database in the shared cluster; dropped on dispose.</summary>
internal sealed class TestDatabase(PostgreSqlCluster cluster, string name, string connectionString) : IAsyncDisposable
{
    public string Name => name;

    public string ConnectionString => connectionString;

    /// <summary>A new empty database in the shared cluster.</summary>
    public static async Task<TestDatabase> CreateAsync() => await (await PostgreSqlCluster.SharedAsync()).CreateDatabaseAsync();

    public async ValueTask DisposeAsync() => await cluster.DropDatabaseAsync(name);
}
