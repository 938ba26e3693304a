namespace NanoRun.Storage.Sqlite;

internal static partial class SqliteSchema
{
    // Written in the enqueue's transaction, right after its row.
    public const string InsertTerm = "INSERT OR IGNORE INTO request_terms (unit, term, seq) VALUES (@unit, @term, (SELECT seq FROM requests WHERE id = @id))";

    public const string DeleteTerms = "DELETE FROM request_terms WHERE seq = (SELECT seq FROM requests WHERE id = @id)";

    // The earliest queued first, read from the (unit, state, seq) index; RETURNING order is not defined, so callers sort by seq.
    public const string CancelQueued = """
        UPDATE requests SET state = 5, completed_at = @now, updated_at = @now
        WHERE seq IN (SELECT seq FROM requests WHERE unit = @unit AND state = 0 ORDER BY seq LIMIT @limit)
        RETURNING seq, id
        """;

    public const string AnyQueued = "SELECT EXISTS (SELECT 1 FROM requests WHERE unit = @unit AND state = 0)";

    // Two bounded index reads, each at most @limit rows below the cursor: an id range of requests_unit_id (named, so
    // the planner never walks the whole unit in seq order instead) and one term of request_terms, newest first.
    // An unknown cursor yields NULL, and nothing is below NULL.
    public const string Search = """
        WITH cursor(seq) AS (
            SELECT CASE WHEN @before IS NULL THEN 9223372036854775807 ELSE (SELECT seq FROM requests WHERE id = @before) END),
        hits(seq) AS (
            SELECT seq FROM (
                SELECT seq FROM requests INDEXED BY requests_unit_id
                WHERE unit = @unit AND id >= @text AND id < @high AND seq < (SELECT seq FROM cursor)
                ORDER BY seq DESC LIMIT @limit)
            UNION
            SELECT seq FROM (
                SELECT seq FROM request_terms
                WHERE unit = @unit AND term = @text AND seq < (SELECT seq FROM cursor)
                ORDER BY seq DESC LIMIT @limit))
        """ + " " + PageColumns + "WHERE seq IN (SELECT seq FROM hits)" + PageOrder;
}
