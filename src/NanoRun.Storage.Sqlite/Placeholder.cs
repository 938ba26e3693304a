namespace NanoRun.Storage.Sqlite;
internal static class Placeholder;
