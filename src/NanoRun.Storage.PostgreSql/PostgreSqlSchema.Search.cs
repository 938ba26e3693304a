namespace NanoRun.Storage.PostgreSql;

internal static partial class PostgreSqlSchema
{
    // Runs in the enqueue's batch after the insert; a duplicate dedupe key inserted no row, so it adds no terms.
    public const string InsertTerms = """
        INSERT INTO nano_run_request_terms (unit, term, seq)
        SELECT r.unit, t.term, r.seq FROM nano_run_requests AS r, unnest(@terms) AS t(term)
        WHERE r.id = @id
        ON CONFLICT DO NOTHING
        """;

    // The earliest queued first from the (unit, state, seq) index; rows a claim holds are skipped, not waited for.
    public const string CancelQueued = """
        WITH doomed AS (
            SELECT seq FROM nano_run_requests
            WHERE unit = @unit AND state = 0
            ORDER BY seq
            LIMIT @limit
            FOR UPDATE SKIP LOCKED)
        UPDATE nano_run_requests AS r SET state = 5, completed_at = @now, updated_at = @now
        FROM doomed AS d
        WHERE r.seq = d.seq AND r.state = 0
        RETURNING r.seq, r.id
        """;

    public const string AnyQueued = "SELECT EXISTS (SELECT 1 FROM nano_run_requests WHERE unit = @unit AND state = 0)";

    // Two bounded index reads, each at most @limit rows below the cursor: an id range of nano_run_requests_unit_id and
    // one term of nano_run_request_terms, newest first. An unknown cursor yields NULL, and nothing is below NULL.
    public const string Search = """
        WITH cursor AS (
            SELECT CASE WHEN @before::text IS NULL THEN 9223372036854775807
                        ELSE (SELECT seq FROM nano_run_requests WHERE id = @before) END AS seq),
        hits AS (
            (SELECT seq FROM nano_run_requests
             WHERE unit = @unit AND id >= @text AND id < @high AND seq < (SELECT seq FROM cursor)
             ORDER BY seq DESC LIMIT @limit)
            UNION
            (SELECT seq FROM nano_run_request_terms
             WHERE unit = @unit AND term = @text AND seq < (SELECT seq FROM cursor)
             ORDER BY seq DESC LIMIT @limit))
        """ + " " + PageColumns + "WHERE seq IN (SELECT seq FROM hits)" + PageOrder;
}
