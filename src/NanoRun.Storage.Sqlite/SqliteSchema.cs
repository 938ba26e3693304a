namespace NanoRun.Storage.Sqlite;

/// <summary>The schema, versioned with <c>PRAGMA user_version</c>; migration <c>n</c> moves version <c>n</c> to <c>n + 1</c>.</summary>
/// <remarks>
/// States are stored as <see cref="Requests.RequestState"/> numbers: 0 Queued, 1 Running, 2 Retrying, 3 Succeeded, 4 Failed,
/// 5 Cancelled. Queries spell the partial-index conditions (<c>state IN (0, 2)</c>, <c>state = 1</c>) literally, because
/// SQLite only uses a partial index when the query repeats its condition. Times are unix milliseconds, UTC.
/// </remarks>
internal static partial class SqliteSchema
{
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE requests (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            unit TEXT NOT NULL,
            state INTEGER NOT NULL,
            method TEXT NOT NULL,
            uri TEXT NOT NULL,
            headers TEXT NOT NULL,
            body_key TEXT,
            body_inline BLOB,
            body_length INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            completed_at INTEGER,
            attempt_count INTEGER NOT NULL DEFAULT 0,
            next_run_at INTEGER NOT NULL,
            lease_owner TEXT,
            lease_until INTEGER
        );

        -- Claims and NextDue: only waiting requests, in due order, so a claim reads LIMIT rows and never sorts.
        CREATE INDEX requests_due ON requests (unit, next_run_at, seq) WHERE state IN (0, 2);

        -- History pages, newest first, with and without a state filter.
        CREATE INDEX requests_page ON requests (unit, seq);
        CREATE INDEX requests_page_state ON requests (unit, state, seq);

        -- The lease reaper: only running requests.
        CREATE INDEX requests_running ON requests (lease_until) WHERE state = 1;

        -- Retention: only final requests.
        CREATE INDEX requests_completed ON requests (unit, completed_at) WHERE completed_at IS NOT NULL;

        CREATE TABLE attempts (
            request_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            id TEXT NOT NULL,
            code INTEGER NOT NULL,
            headers TEXT NOT NULL,
            result_key TEXT,
            result_inline BLOB,
            result_length INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (request_id, number)
        );
        """,
        """
        -- Schedules: one request per (unit, entry, tick) however many nodes queue it.
        ALTER TABLE requests ADD COLUMN dedupe_key TEXT;
        CREATE UNIQUE INDEX requests_dedupe ON requests (dedupe_key) WHERE dedupe_key IS NOT NULL;
        """,
        """
        -- Completion callbacks: state NULL (none), 0 pending, 1 delivered, 2 failed, 3 skipped; due once the request is final.
        ALTER TABLE requests ADD COLUMN callback_state INTEGER;
        ALTER TABLE requests ADD COLUMN callback_attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE requests ADD COLUMN callback_status INTEGER;
        ALTER TABLE requests ADD COLUMN callback_error TEXT;
        ALTER TABLE requests ADD COLUMN callback_next_at INTEGER;
        CREATE INDEX requests_callback_due ON requests (callback_next_at) WHERE callback_state = 0 AND state IN (3, 4, 5);
        """,
        """
        -- Who enqueued the request, for the attempts that run it; NULL for anonymous callers and schedules.
        ALTER TABLE requests ADD COLUMN principal TEXT;
        """,
        """
        -- A delayed request's earliest first attempt (NULL: not delayed), and each attempt's kept stderr, stored like its result.
        ALTER TABLE requests ADD COLUMN not_before INTEGER;
        ALTER TABLE attempts ADD COLUMN stderr_key TEXT;
        ALTER TABLE attempts ADD COLUMN stderr_inline BLOB;
        ALTER TABLE attempts ADD COLUMN stderr_length INTEGER NOT NULL DEFAULT 0;
        """,
        """
        -- The node serving this data folder, one row per process, written by its heartbeat; units are newline-separated.
        CREATE TABLE nodes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            heartbeat_at INTEGER NOT NULL,
            running INTEGER NOT NULL,
            units TEXT NOT NULL
        );
        """,
        """
        -- Paused units (schedule '') and paused schedule entries (schedule = the entry's label).
        CREATE TABLE pauses (
            unit TEXT NOT NULL,
            schedule TEXT NOT NULL,
            since INTEGER NOT NULL,
            PRIMARY KEY (unit, schedule)
        );
        """,
        """
        -- Search: each request's terms (normalized header values), newest first per term; dropped with the request.
        CREATE TABLE request_terms (
            unit TEXT NOT NULL,
            term TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (unit, term, seq)
        ) WITHOUT ROWID;
        CREATE INDEX request_terms_seq ON request_terms (seq);

        -- Search by id prefix within a unit: a range of this index, which also holds seq (the rowid).
        CREATE INDEX requests_unit_id ON requests (unit, id);
        """,
        """
        -- Charts: a unit's arrivals and completions in a time window, counted from these indexes alone.
        CREATE INDEX requests_created ON requests (unit, created_at);
        CREATE INDEX requests_finished ON requests (unit, completed_at, state) WHERE completed_at IS NOT NULL;
        """,
    ];

    // A repeated pause keeps the time the pause began.
    public const string InsertPause = "INSERT INTO pauses (unit, schedule, since) VALUES (@unit, @schedule, @since) ON CONFLICT (unit, schedule) DO NOTHING";

    public const string DeletePause = "DELETE FROM pauses WHERE unit = @unit AND schedule = @schedule";

    public const string SelectPauses = "SELECT unit, schedule, since FROM pauses ORDER BY unit, schedule";

    // A repeated dedupe_key inserts nothing (0 rows changed); a repeated id still fails.
    public const string InsertRequest = """
        INSERT INTO requests (id, unit, state, method, uri, headers, body_key, body_inline, body_length,
                              created_at, updated_at, attempt_count, next_run_at, dedupe_key, callback_state, callback_next_at, principal,
                              not_before)
        VALUES (@id, @unit, 0, @method, @uri, @headers, @body_key, @body_inline, @body_length,
                @created_at, @created_at, 0, COALESCE(@not_before, @created_at), @dedupe_key, @callback_state, @created_at, @principal,
                @not_before)
        ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
        """;

    public const string UpsertNode = """
        INSERT INTO nodes (id, name, version, started_at, heartbeat_at, running, units)
        VALUES (@id, @name, @version, @started_at, @heartbeat_at, @running, @units)
        ON CONFLICT (id) DO UPDATE
        SET name = excluded.name, version = excluded.version, started_at = excluded.started_at,
            heartbeat_at = excluded.heartbeat_at, running = excluded.running, units = excluded.units
        """;

    public const string ForgetNodes = "DELETE FROM nodes WHERE heartbeat_at < @forget_before";

    public const string SelectNodes = "SELECT id, name, version, started_at, heartbeat_at, running, units FROM nodes ORDER BY name, id";

    public const string Claim = """
        UPDATE requests
        SET state = 1, lease_owner = @owner, lease_until = @until, updated_at = @now
        WHERE seq IN (
            SELECT seq FROM requests
            WHERE unit = @unit AND state IN (0, 2) AND next_run_at <= @now
            ORDER BY next_run_at, seq
            LIMIT @limit)
        RETURNING seq, next_run_at, id, unit, method, uri, headers, body_key, body_inline, body_length, attempt_count, created_at, principal
        """;

    public const string RenewLease = """
        UPDATE requests SET lease_until = @until WHERE id = @id AND state = 1 AND lease_owner = @owner
        """;

    public const string SelectLease = "SELECT state, lease_owner FROM requests WHERE id = @id";

    public const string NextAttemptNumber = "SELECT COALESCE(MAX(number), 0) + 1 FROM attempts WHERE request_id = @id";

    public const string InsertAttempt = """
        INSERT INTO attempts (request_id, number, id, code, headers, result_key, result_inline, result_length, started_at, created_at,
                              stderr_key, stderr_inline, stderr_length)
        VALUES (@request_id, @number, @id, @code, @headers, @result_key, @result_inline, @result_length, @started_at, @created_at,
                @stderr_key, @stderr_inline, @stderr_length)
        """;

    public const string ApplyOutcome = """
        UPDATE requests
        SET state = @state, attempt_count = attempt_count + 1, updated_at = @now,
            completed_at = @completed_at, next_run_at = COALESCE(@next_run_at, next_run_at),
            lease_owner = NULL, lease_until = NULL
        WHERE id = @id
        """;

    public const string CountAttempt = "UPDATE requests SET attempt_count = attempt_count + 1, updated_at = @now WHERE id = @id";

    public const string Release = """
        UPDATE requests SET state = 0, lease_owner = NULL, lease_until = NULL, updated_at = @now
        WHERE id = @id AND state = 1 AND lease_owner = @owner
        """;

    public const string Cancel = """
        UPDATE requests SET state = 5, completed_at = @now, updated_at = @now, lease_owner = NULL, lease_until = NULL
        WHERE id = @id AND state IN (0, 1, 2)
        """;

    // Reads the requests_dedupe partial index.
    public const string SelectByDedupeKey = "SELECT id FROM requests WHERE dedupe_key = @dedupe_key AND dedupe_key IS NOT NULL";

    public const string SelectState = "SELECT state FROM requests WHERE id = @id";

    public const string RequeueExpired = """
        UPDATE requests SET state = 0, lease_owner = NULL, lease_until = NULL, updated_at = @now
        WHERE state = 1 AND lease_until < @now
        """;

    public const string RequeueAllRunning = """
        UPDATE requests SET state = 0, lease_owner = NULL, lease_until = NULL, updated_at = @now
        WHERE state = 1
        """;

    public const string NextDue = "SELECT MIN(next_run_at) FROM requests WHERE unit = @unit AND state IN (0, 2)";

    public const string SelectRequest = """
        SELECT id, unit, state, method, uri, headers, body_key, body_inline, body_length, created_at, updated_at, completed_at,
               not_before
        FROM requests WHERE id = @id
        """;

    public const string SelectAttempts = """
        SELECT id, number, code, headers, result_key, result_inline, result_length, started_at, created_at,
               stderr_key, stderr_inline, stderr_length
        FROM attempts WHERE request_id = @id ORDER BY number
        """;

    // The first start and the time run come from the page's own attempts (primary-key look-ups, a page at a time).
    private const string PageColumns = """
        SELECT id, unit, state, attempt_count, created_at, completed_at,
               (SELECT MIN(started_at) FROM attempts WHERE request_id = requests.id),
               (SELECT COALESCE(SUM(created_at - started_at), 0) FROM attempts WHERE request_id = requests.id)
        FROM requests
        """ + " ";
    private const string BeforeCursor = " AND seq < (SELECT seq FROM requests WHERE id = @before)";
    private const string PageOrder = " ORDER BY seq DESC LIMIT @limit";

    public const string Page = PageColumns + "WHERE unit = @unit" + PageOrder;
    public const string PageBefore = PageColumns + "WHERE unit = @unit" + BeforeCursor + PageOrder;
    public const string PageState = PageColumns + "WHERE unit = @unit AND state = @state" + PageOrder;
    public const string PageStateBefore = PageColumns + "WHERE unit = @unit AND state = @state" + BeforeCursor + PageOrder;

    // Reads only the (unit, state, seq) index.
    public const string CountByState = "SELECT state, COUNT(*) FROM requests WHERE unit = @unit GROUP BY state";

    // Age-based purge: oldest completions first.
    public const string SelectPurgeable = """
        SELECT id FROM requests
        WHERE unit = @unit AND completed_at < @before AND state IN (3, 4, 5)
        ORDER BY completed_at
        LIMIT @limit
        """;

    // Count-based purge: newest arrivals first, so OFFSET @keep spares the newest requests.
    public const string SelectPurgeableKeeping = """
        SELECT id FROM requests
        WHERE unit = @unit AND state IN (3, 4, 5) AND completed_at < @before
        ORDER BY seq DESC
        LIMIT @limit OFFSET @keep
        """;

    public const string SelectPurgeableInState = """
        SELECT id FROM requests
        WHERE unit = @unit AND state = @state AND completed_at < @before
        ORDER BY seq DESC
        LIMIT @limit OFFSET @keep
        """;

    public const string ClaimCallbacks = """
        UPDATE requests SET callback_next_at = @until
        WHERE seq IN (
            SELECT seq FROM requests
            WHERE callback_state = 0 AND state IN (3, 4, 5) AND callback_next_at <= @now
            ORDER BY callback_next_at
            LIMIT @limit)
        RETURNING id, unit, callback_attempts
        """;

    public const string RecordCallback = """
        UPDATE requests
        SET callback_state = @state, callback_attempts = @attempts, callback_status = @status, callback_error = @error,
            callback_next_at = @next_at
        WHERE id = @id AND callback_state IS NOT NULL
        """;

    public const string SelectCallback = """
        SELECT callback_state, callback_attempts, callback_status, callback_error, callback_next_at
        FROM requests WHERE id = @id AND callback_state IS NOT NULL
        """;

    public const string DeleteAttempts = "DELETE FROM attempts WHERE request_id = @id";
    public const string DeleteRequest = "DELETE FROM requests WHERE id = @id";
}
