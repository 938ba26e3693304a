using Microsoft.Data.Sqlite;

namespace NanoRun.Storage.Sqlite;

/// <summary>The embedded store's database, <c>{data}/nano-run.db</c>: one write connection used one short transaction at
/// a time, pooled read-only connections, the data-folder lock and the schema.</summary>
internal sealed class SqliteConnections : IAsyncDisposable
{
    private const string DatabaseFileName = "nano-run.db";
    private const int BusyTimeoutMs = 5000;
    private const string ReaderCacheSize = "PRAGMA cache_size = -256"; // KiB
    private const string SynchronousFull = "PRAGMA synchronous = FULL";

    private readonly string _writeConnectionString;
    private readonly string _readConnectionString;

    // Guards _writer and every command on it; held for one short transaction at a time, never across other awaits.
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private DataFolderLock? _folderLock;
    private SqliteConnection? _writer;
    private int _disposed;

    public SqliteConnections(string dataDirectory)
    {
        DataDirectory = dataDirectory;
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Join(dataDirectory, DatabaseFileName),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        };
        _writeConnectionString = builder.ToString();
        builder.Mode = SqliteOpenMode.ReadOnly;
        _readConnectionString = builder.ToString();
    }

    /// <summary>The data folder.</summary>
    public string DataDirectory { get; }

    /// <summary>Locks the data folder, opens the write connection and creates or migrates the schema, then runs
    /// <paramref name="onOpened"/> under the write lock; returns <c>false</c> and does nothing when already open.</summary>
    /// <exception cref="IOException">Another process (or store) has the data folder open.</exception>
    public async Task<bool> OpenAsync(Func<SqliteConnection, Task> onOpened, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_writer is not null)
            {
                return false;
            }

            PrivateFiles.CreateFolder(DataDirectory);
            var folderLock = DataFolderLock.Acquire(DataDirectory);

            // SQLite gives the -wal and -shm files the mode of the database file.
            PrivateFiles.CreateFile(Path.Join(DataDirectory, DatabaseFileName));
            var writer = new SqliteConnection(_writeConnectionString);
            try
            {
                await writer.OpenAsync(cancellationToken).ConfigureAwait(false);

                // synchronous=FULL: a commit returns only after the WAL is flushed to disk.
                await ExecuteAsync(writer, $"PRAGMA journal_mode = WAL; {SynchronousFull}; PRAGMA busy_timeout = {BusyTimeoutMs};", cancellationToken).ConfigureAwait(false);
                await MigrateAsync(writer, cancellationToken).ConfigureAwait(false);
                await onOpened(writer).ConfigureAwait(false);
            }
            catch
            {
                await writer.DisposeAsync().ConfigureAwait(false);
                folderLock.Dispose();
                throw;
            }

            _folderLock = folderLock;
            _writer = writer;
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_writer is null)
        {
            throw new InvalidOperationException("the store is not initialized; call InitializeAsync first");
        }
    }

    /// <summary>Takes the write lock and returns the writer connection; the caller releases it with <see cref="ExitWrite"/>.</summary>
    public async ValueTask<SqliteConnection> EnterWriteAsync(CancellationToken cancellationToken)
    {
        EnsureOpen();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_writer is null)
        {
            _writeLock.Release();
            EnsureOpen();
        }

        return _writer!;
    }

    /// <summary>Releases the write lock taken by <see cref="EnterWriteAsync"/>.</summary>
    public void ExitWrite() => _writeLock.Release();

    /// <summary>
    /// Takes the write lock for transactions whose commit may return before it reaches the disk; the caller releases it
    /// with <see cref="ExitUnsyncedWriteAsync"/>, which makes the writer flush every commit again.
    /// </summary>
    /// <remarks>
    /// With WAL and synchronous=NORMAL a commit is written to the WAL but not fsynced: it survives a crash of the process,
    /// and a power loss at worst rolls it back, never half of it. The next synchronous=FULL commit fsyncs the WAL and with
    /// it every frame before it, so an unsynced commit is durable at the latest when a durable one after it returns.
    /// Only writes whose loss is harmless may use it.
    /// </remarks>
    public async ValueTask<SqliteConnection> EnterUnsyncedWriteAsync(CancellationToken cancellationToken)
    {
        var writer = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(writer, "PRAGMA synchronous = NORMAL", cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _writeLock.Release();
            throw;
        }

        return writer;
    }

    /// <summary>Makes the writer flush every commit again and releases the write lock taken by <see cref="EnterUnsyncedWriteAsync"/>.</summary>
    /// <remarks>When the setting cannot be restored the writer is closed: no durable write may go through it unsynced.</remarks>
    public async ValueTask ExitUnsyncedWriteAsync()
    {
        try
        {
            await ExecuteAsync(_writer!, SynchronousFull, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            var writer = _writer;
            _writer = null;
            if (writer is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The writer's <c>PRAGMA synchronous</c> (2 is FULL), read under the write lock.</summary>
    internal async Task<long> WriterSynchronousAsync()
    {
        var writer = await EnterWriteAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            using var command = writer.CreateCommand();
            command.CommandText = "PRAGMA synchronous";
            return (long)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Opens a pooled read-only connection; the caller disposes it.</summary>
    public async ValueTask<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_readConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // Pooled readers each keep a page cache for as long as they live (2 MB by default): as many readers as were
            // ever busy at once, each filling up over hours. A small one keeps the sum bounded; the OS page cache
            // holds the file anyway.
            await ExecuteAsync(connection, ReaderCacheSize, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the database and unlocks the data folder; <paramref name="beforeClose"/> runs under the write lock first.</summary>
    public async ValueTask CloseAsync(Action? beforeClose)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            beforeClose?.Invoke();
            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
                _writer = null;
            }

            // Pooled connections keep the files open; close them so the folder can be reopened or removed.
            using (var write = new SqliteConnection(_writeConnectionString))
            {
                SqliteConnection.ClearPool(write);
            }

            using (var read = new SqliteConnection(_readConnectionString))
            {
                SqliteConnection.ClearPool(read);
            }

            _folderLock?.Dispose();
            _folderLock = null;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Closes the database and unlocks the data folder.</summary>
    public ValueTask DisposeAsync() => CloseAsync(null);

    public static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task MigrateAsync(SqliteConnection writer, CancellationToken cancellationToken)
    {
        long version;
        using (var read = writer.CreateCommand())
        {
            read.CommandText = "PRAGMA user_version";
            version = (long)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        var target = SqliteSchema.Migrations.Length;
        if (version > target)
        {
            throw new InvalidOperationException(
                $"database {writer.DataSource} has schema version {version}, newer than this nano-run supports ({target})");
        }

        for (; version < target; version++)
        {
            // Each step and its version bump commit together: user_version lives in the database header.
            using var transaction = writer.BeginTransaction();
            await ExecuteAsync(writer, SqliteSchema.Migrations[version], cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(writer, $"PRAGMA user_version = {version + 1}", cancellationToken).ConfigureAwait(false);
            transaction.Commit();
        }
    }
}
