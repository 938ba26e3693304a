using NanoRun.Storage.Testing;

namespace NanoRun.Storage;

public sealed class PostgreSqlActivityConformanceTests : ActivityConformanceTests<PostgreSqlStoreWorld>;
