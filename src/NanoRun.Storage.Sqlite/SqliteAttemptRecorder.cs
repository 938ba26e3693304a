using Microsoft.Data.Sqlite;
using NanoRun.Requests;
using static NanoRun.Storage.Sqlite.SqliteValues;

namespace NanoRun.Storage.Sqlite;

/// <summary>Writes one attempt and its request's next state inside the commit loop's transaction, through commands
/// prepared once on the write connection.</summary>
/// <remarks>Used only by the commit loop while it holds the write lock.</remarks>
internal sealed class SqliteAttemptRecorder : IDisposable
{
    private readonly SqliteCommand _selectLease;
    private readonly SqliteCommand _nextNumber;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _apply;
    private readonly SqliteCommand _count;

    private SqliteAttemptRecorder(SqliteConnection writer)
    {
        _selectLease = Create(writer, SqliteSchema.SelectLease, ("@id", SqliteType.Text));
        _nextNumber = Create(writer, SqliteSchema.NextAttemptNumber, ("@id", SqliteType.Text));
        _insert = Create(
            writer,
            SqliteSchema.InsertAttempt,
            ("@request_id", SqliteType.Text),
            ("@number", SqliteType.Integer),
            ("@id", SqliteType.Text),
            ("@code", SqliteType.Integer),
            ("@headers", SqliteType.Text),
            ("@result_key", SqliteType.Text),
            ("@result_inline", SqliteType.Blob),
            ("@result_length", SqliteType.Integer),
            ("@stderr_key", SqliteType.Text),
            ("@stderr_inline", SqliteType.Blob),
            ("@stderr_length", SqliteType.Integer),
            ("@started_at", SqliteType.Integer),
            ("@created_at", SqliteType.Integer));
        _apply = Create(
            writer,
            SqliteSchema.ApplyOutcome,
            ("@id", SqliteType.Text),
            ("@now", SqliteType.Integer),
            ("@state", SqliteType.Integer),
            ("@completed_at", SqliteType.Integer),
            ("@next_run_at", SqliteType.Integer));
        _count = Create(writer, SqliteSchema.CountAttempt, ("@id", SqliteType.Text), ("@now", SqliteType.Integer));
    }

    /// <summary>Prepares the commands on <paramref name="writer"/>; the caller disposes the recorder before the connection.</summary>
    public static SqliteAttemptRecorder Prepare(SqliteConnection writer) => new(writer);

    /// <summary>Records <paramref name="outcome"/> in <paramref name="transaction"/>: the request's state after it, or
    /// <c>null</c> (and nothing written) when the request is unknown.</summary>
    public async Task<RequestState?> RecordAsync(AttemptOutcome outcome, SqliteTransaction transaction)
    {
        var attempt = outcome.Attempt;
        var now = Ms(attempt.CreatedAt);
        RequestState current;
        string? owner;
        _selectLease.Transaction = transaction;
        _selectLease.Parameters[0].Value = outcome.RequestId;
        using (var reader = await _selectLease.ExecuteReaderAsync().ConfigureAwait(false))
        {
            if (!await reader.ReadAsync().ConfigureAwait(false))
            {
                return null;
            }

            current = (RequestState)reader.GetInt32(0);
            owner = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        _nextNumber.Transaction = transaction;
        _nextNumber.Parameters[0].Value = outcome.RequestId;
        var nextFree = (long)(await _nextNumber.ExecuteScalarAsync().ConfigureAwait(false))!;
        var transition = RequestTransitions.RecordAttempt(current, owner, checked((int)nextFree), outcome);

        var insert = _insert.Parameters;
        insert[0].Value = outcome.RequestId;
        insert[1].Value = transition.Number;
        insert[2].Value = attempt.Id;
        insert[3].Value = attempt.Code;
        insert[4].Value = HeaderCodec.Encode(attempt.Headers);
        SetBody(insert, 5, attempt.Result);
        SetBody(insert, 8, attempt.Stderr);
        insert[11].Value = Ms(attempt.StartedAt);
        insert[12].Value = now;
        _insert.Transaction = transaction;
        await _insert.ExecuteNonQueryAsync().ConfigureAwait(false);

        var update = transition.Applies ? _apply : _count;
        update.Parameters[0].Value = outcome.RequestId;
        update.Parameters[1].Value = now;
        if (transition.Applies)
        {
            update.Parameters[2].Value = (int)transition.State;
            update.Parameters[3].Value = transition.CompletedAt is { } completedAt ? Ms(completedAt) : DBNull.Value;
            update.Parameters[4].Value = transition.NextRunAt is { } nextRunAt ? Ms(nextRunAt) : DBNull.Value;
        }

        update.Transaction = transaction;
        await update.ExecuteNonQueryAsync().ConfigureAwait(false);
        return transition.State;
    }

    /// <summary>Detaches the commands from a transaction that has ended.</summary>
    public void Detach()
    {
        _selectLease.Transaction = null;
        _nextNumber.Transaction = null;
        _insert.Transaction = null;
        _apply.Transaction = null;
        _count.Transaction = null;
    }

    public void Dispose()
    {
        _selectLease.Dispose();
        _nextNumber.Dispose();
        _insert.Dispose();
        _apply.Dispose();
        _count.Dispose();
    }

    private static void SetBody(SqliteParameterCollection parameters, int first, BodyRef body)
    {
        parameters[first].Value = (object?)body.Key ?? DBNull.Value;
        parameters[first + 1].Value = body.Key is null ? body.Inline ?? [] : DBNull.Value;
        parameters[first + 2].Value = body.Length;
    }

    private static SqliteCommand Create(SqliteConnection writer, string sql, params ReadOnlySpan<(string Name, SqliteType Type)> parameters)
    {
        var command = writer.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        return command;
    }
}
