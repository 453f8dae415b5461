namespace CommsCredits.Gateway.Ledger;

using Npgsql;

/// <summary>
/// Housekeeping of the session journal (session_steps, migration 0009). A closing deletes its session's steps in its
/// own transaction, but a step can commit after that (an Update in flight beside the Terminate), and a session whose
/// opening was lost with Redis can leave Updates behind that nothing will ever restore. Neither is ever restored (a
/// rebuild skips sessions with a call record or without an opening); this removes them, in bounded batches, once they
/// are older than <see cref="PurgeAge"/>. Only steps that old are read (index session_steps_recorded, migration 0011), so
/// a purge costs what the old steps cost, not what every call in progress does.
/// </summary>
public sealed class SessionJournal(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// How old a step must be before the purge looks at it: far longer than a late opening can take to arrive (a
    /// settlement waits in Redis only while PostgreSQL is down) and than any step's transaction, and longer than almost
    /// every call (the longest is MoneyLimits.MaxSessionSeconds, a week), so that few steps of calls in progress are read.
    /// A step left behind by a closing waits this long; it is never restored meanwhile.
    /// </summary>
    public static readonly TimeSpan PurgeAge = TimeSpan.FromDays(1);

    private const string PurgeSql =
        """
        DELETE FROM session_steps
        WHERE ctid IN (
            SELECT s.ctid FROM session_steps s
            WHERE s.recorded_at < now() - @purge_age
              AND (EXISTS (SELECT 1 FROM call_records c
                           WHERE c.tenant_id = s.tenant_id AND c.epoch = s.session_epoch AND c.session_number = s.session_number)
                   OR NOT EXISTS (SELECT 1 FROM session_steps o
                                  WHERE o.tenant_id = s.tenant_id AND o.session_epoch = s.session_epoch
                                    AND o.session_number = s.session_number AND o.step = 1))
            LIMIT @limit)
        """;

    /// <summary>Deletes up to <paramref name="limit"/> steps of closed or unrestorable sessions; returns how many.</summary>
    public async Task<int> PurgeAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(PurgeSql);
        command.Parameters.AddWithValue("purge_age", PurgeAge);
        command.Parameters.AddWithValue("limit", limit);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
