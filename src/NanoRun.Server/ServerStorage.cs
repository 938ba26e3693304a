using NanoRun.Storage.PostgreSql;
using NanoRun.Storage.Sqlite;

namespace NanoRun.Server;

/// <summary>
/// The store that <c>server.yaml</c>'s <c>storage.provider</c> names, as a registration: the one place a provider's
/// name is compared. Everything else asks the registered store, not the name.
/// </summary>
internal sealed class ServerStorage
{
    private readonly Action<NanoRunBuilder, ServerOptions> _register;

    private ServerStorage(Action<NanoRunBuilder, ServerOptions> register, bool usesDataFolder, bool isShared)
    {
        _register = register;
        UsesDataFolder = usesDataFolder;
        IsShared = isShared;
    }

    /// <summary>Whether the store keeps records and bodies in the data folder (so the folder must be writable).</summary>
    public bool UsesDataFolder { get; }

    /// <summary>Whether the store is a database server reached through <see cref="ServerOptions.StorageConnectionString"/>.</summary>
    public bool IsShared { get; }

    /// <summary>The store <paramref name="options"/> names.</summary>
    public static ServerStorage For(ServerOptions options) => options.StorageProvider switch
    {
        "postgresql" => new ServerStorage(static (builder, o) => builder.UsePostgreSql(o.StorageConnectionString!), usesDataFolder: false, isShared: true),
        _ => new ServerStorage(static (builder, o) => builder.UseSqlite(o.DataDirectory), usesDataFolder: true, isShared: false),
    };

    /// <summary>Registers the store on <paramref name="builder"/>.</summary>
    public void Register(NanoRunBuilder builder, ServerOptions options) => _register(builder, options);
}
