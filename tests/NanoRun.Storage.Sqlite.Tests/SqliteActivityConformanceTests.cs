using NanoRun.Storage.Testing;

namespace NanoRun.Storage;

public sealed class SqliteActivityConformanceTests : ActivityConformanceTests<SqliteStoreWorld>;
