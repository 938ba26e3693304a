namespace NanoRun.Storage.PostgreSql;

/// <summary>The schema, versioned in <c>nano_run_schema</c>; migration <c>n</c> moves version <c>n</c> to <c>n + 1</c>.</summary>
/// <remarks>
/// States are stored as <see cref="Requests.RequestState"/> numbers: 0 Queued, 1 Running, 2 Retrying, 3 Succeeded, 4 Failed,
/// 5 Cancelled. Ids and blob keys use the <c>C</c> collation so that prefix ranges follow byte order. Times are
/// <c>timestamptz</c> (microseconds) from the calling node's clock, so nodes need synchronised clocks.
/// </remarks>
internal static partial class PostgreSqlSchema
{
    /// <summary>Advisory lock held while migrating, so nodes starting together migrate one after another ("NanoRun" in ASCII).</summary>
    public const long MigrationLock = 0x4E616E6F52756E;

    /// <summary>Channel on which a unit name is announced whenever it may have work due.</summary>
    public const string QueueChannel = "nano_run_queue";

    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE nano_run_requests (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text COLLATE "C" NOT NULL UNIQUE,
            unit text NOT NULL,
            state smallint NOT NULL,
            method text NOT NULL,
            uri text NOT NULL,
            header_names text[] NOT NULL,
            header_values text[] NOT NULL,
            body_key text COLLATE "C",
            body_inline bytea,
            body_length bigint NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            completed_at timestamptz,
            attempt_count integer NOT NULL DEFAULT 0,
            next_run_at timestamptz NOT NULL,
            lease_owner text,
            lease_until timestamptz
        );

        -- Claims and NextDue: only waiting requests, in due order, so a claim reads LIMIT rows and never sorts.
        CREATE INDEX nano_run_requests_due ON nano_run_requests (unit, next_run_at, seq) WHERE state IN (0, 2);

        -- History pages, newest first, with and without a state filter.
        CREATE INDEX nano_run_requests_page ON nano_run_requests (unit, seq);
        CREATE INDEX nano_run_requests_page_state ON nano_run_requests (unit, state, seq);

        -- The lease reaper: only running requests.
        CREATE INDEX nano_run_requests_running ON nano_run_requests (lease_until) WHERE state = 1;

        -- Retention: only final requests.
        CREATE INDEX nano_run_requests_completed ON nano_run_requests (unit, completed_at) WHERE completed_at IS NOT NULL;

        CREATE TABLE nano_run_attempts (
            request_id text COLLATE "C" NOT NULL,
            number integer NOT NULL,
            id text NOT NULL,
            code integer NOT NULL,
            header_names text[] NOT NULL,
            header_values text[] NOT NULL,
            result_key text COLLATE "C",
            result_inline bytea,
            result_length bigint NOT NULL,
            started_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (request_id, number)
        );

        -- Bodies and results larger than the inline limit, in fixed-size chunks numbered from 0.
        CREATE TABLE nano_run_blob_chunks (
            key text COLLATE "C" NOT NULL,
            seq integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (key, seq)
        );

        -- Chunks go out of line uncompressed: bodies are often already compressed, and pglz would only burn CPU on them.
        ALTER TABLE nano_run_blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
        """,
        """
        -- Idempotent enqueues (one request per schedule tick across nodes): a repeated key inserts nothing.
        ALTER TABLE nano_run_requests ADD COLUMN dedupe_key text COLLATE "C";
        CREATE UNIQUE INDEX nano_run_requests_dedupe ON nano_run_requests (dedupe_key) WHERE dedupe_key IS NOT NULL;
        """,
        """
        -- Completion callbacks: state NULL (none), 0 pending, 1 delivered, 2 failed, 3 skipped; due once the request is final.
        ALTER TABLE nano_run_requests
            ADD COLUMN callback_state smallint,
            ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0,
            ADD COLUMN callback_status integer,
            ADD COLUMN callback_error text,
            ADD COLUMN callback_next_at timestamptz;
        CREATE INDEX nano_run_requests_callback_due ON nano_run_requests (callback_next_at)
            WHERE callback_state = 0 AND state IN (3, 4, 5);
        """,
        """
        -- Who enqueued the request, for the attempts that run it; NULL for anonymous callers and schedules.
        ALTER TABLE nano_run_requests ADD COLUMN principal text;
        """,
        """
        -- A delayed request's earliest first attempt (NULL: not delayed), and each attempt's kept stderr, stored like its result.
        ALTER TABLE nano_run_requests ADD COLUMN not_before timestamptz;
        ALTER TABLE nano_run_attempts
            ADD COLUMN stderr_key text COLLATE "C",
            ADD COLUMN stderr_inline bytea,
            ADD COLUMN stderr_length bigint NOT NULL DEFAULT 0;
        """,
        """
        -- The nodes serving this database, one row per process, written by its heartbeat.
        CREATE TABLE nano_run_nodes (
            id text COLLATE "C" PRIMARY KEY,
            name text NOT NULL,
            version text NOT NULL,
            started_at timestamptz NOT NULL,
            heartbeat_at timestamptz NOT NULL,
            running integer NOT NULL,
            units text[] NOT NULL
        );
        """,
        """
        -- Paused units (schedule '') and paused schedule entries (schedule = the entry's label), shared by every node.
        CREATE TABLE nano_run_pauses (
            unit text NOT NULL,
            schedule text NOT NULL,
            since timestamptz NOT NULL,
            PRIMARY KEY (unit, schedule)
        );
        """,
        """
        -- Search: each request's terms (normalized header values), newest first per term; dropped with the request.
        CREATE TABLE nano_run_request_terms (
            unit text NOT NULL,
            term text COLLATE "C" NOT NULL,
            seq bigint NOT NULL,
            PRIMARY KEY (unit, term, seq)
        );
        CREATE INDEX nano_run_request_terms_seq ON nano_run_request_terms (seq);

        -- Search by id prefix within a unit: a range of this index (ids sort in byte order), seq read from the index.
        CREATE INDEX nano_run_requests_unit_id ON nano_run_requests (unit, id) INCLUDE (seq);
        """,
        """
        -- Charts: a unit's arrivals and completions in a time window, counted from these indexes alone.
        CREATE INDEX nano_run_requests_created ON nano_run_requests (unit, created_at);
        CREATE INDEX nano_run_requests_finished ON nano_run_requests (unit, completed_at, state) WHERE completed_at IS NOT NULL;
        """,
    ];

    // A repeated pause keeps the time the pause began.
    public const string InsertPause = "INSERT INTO nano_run_pauses (unit, schedule, since) VALUES (@unit, @schedule, @since) ON CONFLICT (unit, schedule) DO NOTHING";

    // A resumed unit is announced like queued work, so every node claims its requests at once.
    public const string DeletePause = """
        WITH resumed AS (DELETE FROM nano_run_pauses WHERE unit = @unit AND schedule = @schedule RETURNING unit)
        SELECT pg_notify('nano_run_queue', unit) FROM resumed
        """;

    public const string SelectPauses = "SELECT unit, schedule, since FROM nano_run_pauses ORDER BY unit, schedule";

    public const string LockForMigration = "SELECT pg_advisory_xact_lock(@lock)";

    public const string CreateVersionTable = "CREATE TABLE IF NOT EXISTS nano_run_schema (version integer NOT NULL)";

    public const string SelectVersion = "SELECT version FROM nano_run_schema";

    public const string InsertVersion = "INSERT INTO nano_run_schema (version) VALUES (0)";

    public const string UpdateVersion = "UPDATE nano_run_schema SET version = @version";

    public const string InsertRequest = """
        INSERT INTO nano_run_requests (id, unit, state, method, uri, header_names, header_values, body_key, body_inline,
                                       body_length, created_at, updated_at, attempt_count, next_run_at, dedupe_key,
                                       callback_state, callback_next_at, principal, not_before)
        VALUES (@id, @unit, 0, @method, @uri, @header_names, @header_values, @body_key, @body_inline,
                @body_length, @created_at, @created_at, 0, COALESCE(@not_before, @created_at), @dedupe_key, @callback_state,
                @created_at, @principal, @not_before)
        ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
        """;

    // SKIP LOCKED: nodes delivering callbacks at once pass over each other's rows.
    public const string ClaimCallbacks = """
        UPDATE nano_run_requests AS r
        SET callback_next_at = @until
        FROM (SELECT seq FROM nano_run_requests
              WHERE callback_state = 0 AND state IN (3, 4, 5) AND callback_next_at <= @now
              ORDER BY callback_next_at
              LIMIT @limit
              FOR UPDATE SKIP LOCKED) AS due
        WHERE r.seq = due.seq
        RETURNING r.id, r.unit, r.callback_attempts
        """;

    public const string RecordCallback = """
        UPDATE nano_run_requests
        SET callback_state = @state, callback_attempts = @attempts, callback_status = @status, callback_error = @error,
            callback_next_at = @next_at
        WHERE id = @id AND callback_state IS NOT NULL
        """;

    public const string SelectCallback = """
        SELECT callback_state, callback_attempts, callback_status, callback_error, callback_next_at
        FROM nano_run_requests WHERE id = @id AND callback_state IS NOT NULL
        """;

    public const string UpsertNode = """
        INSERT INTO nano_run_nodes (id, name, version, started_at, heartbeat_at, running, units)
        VALUES (@id, @name, @version, @started_at, @heartbeat_at, @running, @units)
        ON CONFLICT (id) DO UPDATE
        SET name = excluded.name, version = excluded.version, started_at = excluded.started_at,
            heartbeat_at = excluded.heartbeat_at, running = excluded.running, units = excluded.units
        """;

    public const string ForgetNodes = "DELETE FROM nano_run_nodes WHERE heartbeat_at < @forget_before";

    public const string SelectNodes = """
        SELECT id, name, version, started_at, heartbeat_at, running, units FROM nano_run_nodes ORDER BY name, id
        """;

    public const string Notify = "SELECT pg_notify('" + QueueChannel + "', @unit)";

    public const string Listen = "LISTEN " + QueueChannel;

    // SKIP LOCKED: concurrent claimers (other nodes, other units' workers) pass over each other's rows instead of waiting.
    public const string Claim = """
        UPDATE nano_run_requests AS r
        SET state = 1, lease_owner = @owner, lease_until = @until, updated_at = @now
        FROM (SELECT seq FROM nano_run_requests
              WHERE unit = @unit AND state IN (0, 2) AND next_run_at <= @now
              ORDER BY next_run_at, seq
              LIMIT @limit
              FOR UPDATE SKIP LOCKED) AS due
        WHERE r.seq = due.seq
        RETURNING r.seq, r.next_run_at, r.id, r.unit, r.method, r.uri, r.header_names, r.header_values,
                  r.body_key, r.body_inline, r.body_length, r.attempt_count, r.created_at, r.principal
        """;

    public const string RenewLeases = """
        UPDATE nano_run_requests SET lease_until = @until WHERE id = ANY(@ids) AND state = 1 AND lease_owner = @owner
        """;

    public const string LockForAttempt = """
        SELECT state, lease_owner, (SELECT COALESCE(MAX(number), 0) + 1 FROM nano_run_attempts WHERE request_id = @id)
        FROM nano_run_requests WHERE id = @id
        FOR UPDATE
        """;

    public const string InsertAttempt = """
        INSERT INTO nano_run_attempts (request_id, number, id, code, header_names, header_values, result_key, result_inline,
                                       result_length, started_at, created_at, stderr_key, stderr_inline, stderr_length)
        VALUES (@request_id, @number, @id, @code, @header_names, @header_values, @result_key, @result_inline,
                @result_length, @started_at, @created_at, @stderr_key, @stderr_inline, @stderr_length)
        """;

    public const string ApplyOutcome = """
        UPDATE nano_run_requests
        SET state = @state, attempt_count = attempt_count + 1, updated_at = @now,
            completed_at = @completed_at, next_run_at = COALESCE(@next_run_at, next_run_at),
            lease_owner = NULL, lease_until = NULL
        WHERE id = @id
        """;

    public const string CountAttempt = "UPDATE nano_run_requests SET attempt_count = attempt_count + 1, updated_at = @now WHERE id = @id";

    public const string Release = """
        WITH released AS (
            UPDATE nano_run_requests SET state = 0, lease_owner = NULL, lease_until = NULL, updated_at = @now
            WHERE id = @id AND state = 1 AND lease_owner = @owner
            RETURNING unit)
        SELECT pg_notify('nano_run_queue', unit) FROM released
        """;

    public const string Cancel = """
        UPDATE nano_run_requests SET state = 5, completed_at = @now, updated_at = @now, lease_owner = NULL, lease_until = NULL
        WHERE id = @id AND state IN (0, 1, 2)
        """;

    public const string SelectState = "SELECT state FROM nano_run_requests WHERE id = @id";

    // Only leases that ended: other nodes' live leases are never touched.
    public const string RequeueExpired = """
        WITH requeued AS (
            UPDATE nano_run_requests SET state = 0, lease_owner = NULL, lease_until = NULL, updated_at = @now
            WHERE state = 1 AND lease_until < @now
            RETURNING unit)
        SELECT count(*)::integer, pg_notify('nano_run_queue', unit) FROM requeued GROUP BY unit
        """;

    // Reads the nano_run_requests_dedupe partial index.
    public const string SelectByDedupeKey = "SELECT id FROM nano_run_requests WHERE dedupe_key = @dedupe_key AND dedupe_key IS NOT NULL";

    public const string NextDue = "SELECT MIN(next_run_at) FROM nano_run_requests WHERE unit = @unit AND state IN (0, 2)";

    public const string SelectRequest = """
        SELECT id, unit, state, method, uri, header_names, header_values, body_key, body_inline, body_length,
               created_at, updated_at, completed_at, not_before
        FROM nano_run_requests WHERE id = @id
        """;

    public const string SelectAttempts = """
        SELECT id, number, code, header_names, header_values, result_key, result_inline, result_length, started_at, created_at,
               stderr_key, stderr_inline, stderr_length
        FROM nano_run_attempts WHERE request_id = @id ORDER BY number
        """;

    // The first start and the time run come from the page's own attempts (primary-key look-ups, a page at a time).
    private const string PageColumns = """
        SELECT r.id, r.unit, r.state, r.attempt_count, r.created_at, r.completed_at, a.first_started_at, a.ran_ms
        FROM nano_run_requests AS r
        LEFT JOIN LATERAL (
            SELECT MIN(started_at) AS first_started_at,
                   COALESCE(SUM((EXTRACT(EPOCH FROM created_at - started_at) * 1000)::bigint), 0)::bigint AS ran_ms
            FROM nano_run_attempts WHERE request_id = r.id) AS a ON true
        """ + " ";
    private const string BeforeCursor = " AND seq < (SELECT seq FROM nano_run_requests WHERE id = @before)";
    private const string PageOrder = " ORDER BY seq DESC LIMIT @limit";

    public const string Page = PageColumns + "WHERE unit = @unit" + PageOrder;
    public const string PageBefore = PageColumns + "WHERE unit = @unit" + BeforeCursor + PageOrder;
    public const string PageState = PageColumns + "WHERE unit = @unit AND state = @state" + PageOrder;
    public const string PageStateBefore = PageColumns + "WHERE unit = @unit AND state = @state" + BeforeCursor + PageOrder;

    // Age-based purge: oldest completions first.
    public const string Purge = PurgeHead + """
            WHERE unit = @unit AND completed_at < @before AND state IN (3, 4, 5)
            ORDER BY completed_at, seq
            LIMIT @limit
        """ + PurgeTail;

    // Count-based purge: newest arrivals first, so OFFSET @keep spares the newest requests.
    public const string PurgeKeeping = PurgeHead + """
            WHERE unit = @unit AND completed_at < @before AND state IN (3, 4, 5)
            ORDER BY seq DESC
            LIMIT @limit OFFSET @keep
        """ + PurgeTail;

    public const string PurgeInState = PurgeHead + """
            WHERE unit = @unit AND completed_at < @before AND state = @state
            ORDER BY seq DESC
            LIMIT @limit OFFSET @keep
        """ + PurgeTail;

    public const string CountByState = "SELECT state, count(*) FROM nano_run_requests WHERE unit = @unit GROUP BY state";

    private const string PurgeHead = """
        WITH doomed AS (
            SELECT seq, id, completed_at FROM nano_run_requests

        """;

    private const string PurgeTail = """

            FOR UPDATE SKIP LOCKED),
        attempts AS (
            DELETE FROM nano_run_attempts AS a USING doomed AS d WHERE a.request_id = d.id),
        terms AS (
            DELETE FROM nano_run_request_terms AS t USING doomed AS d WHERE t.seq = d.seq)
        DELETE FROM nano_run_requests AS r USING doomed AS d
        WHERE r.seq = d.seq
        RETURNING r.id, r.completed_at, r.seq
        """;

    public const string DeleteBlob = "DELETE FROM nano_run_blob_chunks WHERE key = @key";

    public const string InsertChunk = "INSERT INTO nano_run_blob_chunks (key, seq, data) VALUES (@key, @seq, @data)";

    public const string SelectChunk = "SELECT data FROM nano_run_blob_chunks WHERE key = @key AND seq = @seq";

    // '0' follows '/' in byte order, so [prefix + '/', prefix + '0') is every key under the prefix.
    public const string DeletePrefix = "DELETE FROM nano_run_blob_chunks WHERE key >= @low AND key < @high";
}
