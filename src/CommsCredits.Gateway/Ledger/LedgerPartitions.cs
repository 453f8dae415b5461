namespace CommsCredits.Gateway.Ledger;

using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// The monthly partitions of ledger_entries (by occurred_at) and call_records (by ended_at), migration 0010: creates
/// months ahead, lists them, and detaches old months into tables of their own for archiving, carrying what they held
/// into ledger_checkpoints in the same transaction, so that no balance, lot or reconciliation changes
/// (docs/scaling.md, "Partitioned tables").
/// </summary>
public sealed partial class LedgerPartitions(NpgsqlDataSource dataSource, IOptions<LedgerOptions> options, TimeProvider timeProvider, ILogger<LedgerPartitions> logger)
{
    /// <summary>Most months one detach takes: it holds both tables exclusively while it sums them.</summary>
    public const int MaxMonthsPerDetach = 24;

    /// <summary>
    /// The latest month a detach may keep (--before) is this many months before the current one: the current month and the
    /// one before it always stay attached, so that a settlement arriving late (a retry, the pending sweeper, a session
    /// closed by supervision) never finds its month detached.
    /// </summary>
    public const int AttachedMonthsMinimum = 1;

    private const string LedgerPrefix = "ledger_entries_p";
    private const string CallPrefix = "call_records_p";

    private readonly LedgerOptions settings = options.Value;

    /// <summary>
    /// Creates the partitions of the current month and of Ledger:PartitionMonthsAhead after it; returns how many tables it
    /// created. Months already detached are left out rather than refused: a process whose clock is behind the one that
    /// detached them (or an operator's command run with an older clock) must still start.
    /// </summary>
    public async Task<int> EnsureAheadAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var boundary = await BoundaryAsync(dataSource, cancellationToken);
        var from = boundary is { } attachedFrom && attachedFrom > now ? attachedFrom : now;
        var created = await EnsureAsync(dataSource, from, settings.PartitionMonthsAhead + 1, cancellationToken);
        if (created > 0)
        {
            LogCreated(logger, created);
        }

        return created;
    }

    /// <summary>
    /// Creates the partitions of <paramref name="monthCount"/> months from the month of <paramref name="moment"/>, those
    /// missing. A month already detached is refused by PostgreSQL (ensure_monthly_partitions) with a PostgresException.
    /// </summary>
    public static async Task<int> EnsureAsync(NpgsqlDataSource dataSource, DateTimeOffset moment, int monthCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand("SELECT ensure_monthly_partitions(@moment, @count)");
        command.Parameters.AddWithValue("moment", moment);
        command.Parameters.AddWithValue("count", monthCount);
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Every month with a partition, attached or detached, oldest first.</summary>
    public async Task<IReadOnlyList<PartitionMonth>> ListAsync(CancellationToken cancellationToken)
    {
        var months = new SortedDictionary<DateOnly, PartitionMonth>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var attached = new NpgsqlCommand(
            """
            SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent IN ('ledger_entries'::regclass, 'call_records'::regclass)
            """,
            connection))
        await using (var reader = await attached.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var month = MonthOfPartition(reader.GetString(0));
                months[month] = months.GetValueOrDefault(month) ?? new PartitionMonth(month, Detached: false, LedgerPrefix + Suffix(month), CallPrefix + Suffix(month), null, null, null, null);
            }
        }

        await using var detached = new NpgsqlCommand(
            "SELECT month, ledger_table, call_table, entry_count, amount_micros, call_record_count, detached_at FROM detached_months", connection);
        await using var rows = await detached.ExecuteReaderAsync(cancellationToken);
        while (await rows.ReadAsync(cancellationToken))
        {
            var month = rows.GetFieldValue<DateOnly>(0);
            months[month] = new PartitionMonth(
                month, Detached: true, rows.GetString(1), rows.GetString(2), rows.GetInt64(3), rows.GetInt64(4), rows.GetInt64(5), rows.GetFieldValue<DateTimeOffset>(6));
        }

        return [.. months.Values];
    }

    /// <summary>
    /// Detaches every attached month before <paramref name="before"/> (the first of a month): under an exclusive lock of
    /// ledger_entries and call_records it adds what those months hold to each tenant's ledger_checkpoints row, keeps the
    /// idempotency keys of their fundings, drops the journal steps of sessions whose call record goes, detaches the
    /// partitions and records them in detached_months; then checks that the checkpoints grew by exactly what was
    /// detached, or rolls it all back. Throws <see cref="PartitionRefusedException"/> when the month is too recent.
    /// </summary>
    public async Task<IReadOnlyList<PartitionMonth>> DetachBeforeAsync(DateOnly before, CancellationToken cancellationToken)
    {
        var now = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
        var latest = new DateOnly(now.Year, now.Month, 1).AddMonths(-AttachedMonthsMinimum);
        if (before.Day != 1 || before > latest)
        {
            throw new PartitionRefusedException(
                $"cannot detach months before {Format(before)}: the current month and the one before it stay attached (late settlements land there), so --before may be {Format(latest)} at the latest");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Writers and readers wait (lock_timeout bounds how long the detach waits for them): every reader that adds a
        // checkpoint to the ledger does it in one statement or after LOCK TABLE, so none sees the month twice or not at all.
        await ExecuteAsync(connection, "SET LOCAL lock_timeout = '10s'; LOCK TABLE ledger_entries, call_records IN ACCESS EXCLUSIVE MODE", before, cancellationToken);
        var months = (await AttachedMonthsAsync(connection, cancellationToken)).Where(month => month < before).ToList();
        if (months.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return [];
        }

        if (months.Count > MaxMonthsPerDetach)
        {
            throw new PartitionRefusedException(
                $"{months.Count} months are attached before {Format(before)}; one detach takes at most {MaxMonthsPerDetach}: use an earlier --before first (from {Format(months[MaxMonthsPerDetach])})");
        }

        var (movedMicros, movedEntries) = await SumBeforeAsync(connection, before, cancellationToken);
        await ExecuteAsync(connection, CheckpointSql, before, cancellationToken);
        await ExecuteAsync(connection, KeepFundingKeysSql, before, cancellationToken);
        await ExecuteAsync(connection, DropClosedSessionStepsSql, before, cancellationToken);
        var detached = new List<PartitionMonth>(months.Count);
        foreach (var month in months)
        {
            detached.Add(await DetachMonthAsync(connection, month, cancellationToken));
        }

        await CheckDetachedAsync(connection, before, detached, movedMicros, movedEntries, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogDetached(logger, detached.Count, Format(before), movedEntries, movedMicros);
        return detached;
    }

    /// <summary>
    /// What the detached months of tenant @tenant add to its balance (0 when none): every sum of a balance over the
    /// attached ledger_entries adds it, in the same statement or snapshot.
    /// </summary>
    public const string CheckpointBalanceSql = "coalesce((SELECT balance_micros FROM ledger_checkpoints WHERE tenant_id = @tenant), 0)";

    /// <summary>The first moment still attached: the month after the latest detached one (null when none was detached).</summary>
    public const string BoundarySql = "SELECT (max(month) + interval '1 month') AT TIME ZONE 'UTC' FROM detached_months";

    /// <summary>Reads <see cref="BoundarySql"/>.</summary>
    public static async Task<DateTimeOffset?> BoundaryAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand(BoundarySql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.IsDBNull(0) ? null : reader.GetFieldValue<DateTimeOffset>(0);
    }

    /// <summary>"YYYY-MM" as the command takes it; anything else (or a month before 2000) throws <see cref="PartitionRefusedException"/>.</summary>
    public static DateOnly ParseMonth(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length == 7 && text[4] == '-'
            && int.TryParse(text.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year) && year is >= 2000 and <= 9999
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var month) && month is >= 1 and <= 12
            ? new DateOnly(year, month, 1)
            : throw new PartitionRefusedException($"'{text}' is not a month: write YYYY-MM, e.g. 2026-01");
    }

    public static string Format(DateOnly month) => month.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>
    /// The rows of the months before @before, per tenant, added to the checkpoint. call_debits_micros counts each pair of
    /// a debit and its call record of which at least one side is detached now: the pairs both of whose sides stay are
    /// still joined by reconciliation, the others never again. The pairs split in two disjoint halves (the debit
    /// detached; the debit kept and its call record detached), each read through an index.
    /// </summary>
    private const string CheckpointSql =
        """
        WITH entries AS (
            SELECT tenant_id, sum(amount_micros) AS balance,
                   coalesce(sum(amount_micros) FILTER (WHERE kind = 1), 0) AS funded,
                   coalesce(sum(amount_micros) FILTER (WHERE kind = 2), 0) AS debited,
                   coalesce(sum(amount_micros) FILTER (WHERE kind = 3), 0) AS refunded,
                   coalesce(sum(amount_micros) FILTER (WHERE kind = 4), 0) AS expired,
                   count(*) AS entry_count
            FROM ledger_entries WHERE occurred_at < @before GROUP BY tenant_id
        ), calls AS (
            SELECT tenant_id, count(*) AS call_count, sum(charge_micros) AS charges
            FROM call_records WHERE ended_at < @before GROUP BY tenant_id
        ), paired AS (
            SELECT tenant_id, -sum(amount_micros) AS debits FROM (
                SELECT e.tenant_id, e.amount_micros FROM ledger_entries e
                JOIN call_records c ON c.tenant_id = e.tenant_id AND c.epoch = e.session_epoch AND c.session_number = e.session_number
                WHERE e.kind = 2 AND e.occurred_at < @before
                UNION ALL
                SELECT e.tenant_id, e.amount_micros FROM call_records c
                JOIN ledger_entries e ON e.tenant_id = c.tenant_id AND e.session_id = c.session_id
                                     AND e.session_epoch = c.epoch AND e.session_number = c.session_number
                WHERE c.ended_at < @before AND e.kind = 2 AND e.occurred_at >= @before) AS pairs
            GROUP BY tenant_id
        ), touched AS (
            SELECT tenant_id FROM entries UNION SELECT tenant_id FROM calls UNION SELECT tenant_id FROM paired
        )
        INSERT INTO ledger_checkpoints (tenant_id, balance_micros, funded_micros, debited_micros, refunded_micros, expired_micros,
                                        entry_count, call_record_count, call_charges_micros, call_debits_micros)
        SELECT t.tenant_id, coalesce(e.balance, 0), coalesce(e.funded, 0), coalesce(e.debited, 0), coalesce(e.refunded, 0),
               coalesce(e.expired, 0), coalesce(e.entry_count, 0), coalesce(c.call_count, 0), coalesce(c.charges, 0), coalesce(p.debits, 0)
        FROM touched t LEFT JOIN entries e USING (tenant_id) LEFT JOIN calls c USING (tenant_id) LEFT JOIN paired p USING (tenant_id)
        ON CONFLICT (tenant_id) DO UPDATE SET
            balance_micros = ledger_checkpoints.balance_micros + EXCLUDED.balance_micros,
            funded_micros = ledger_checkpoints.funded_micros + EXCLUDED.funded_micros,
            debited_micros = ledger_checkpoints.debited_micros + EXCLUDED.debited_micros,
            refunded_micros = ledger_checkpoints.refunded_micros + EXCLUDED.refunded_micros,
            expired_micros = ledger_checkpoints.expired_micros + EXCLUDED.expired_micros,
            entry_count = ledger_checkpoints.entry_count + EXCLUDED.entry_count,
            call_record_count = ledger_checkpoints.call_record_count + EXCLUDED.call_record_count,
            call_charges_micros = ledger_checkpoints.call_charges_micros + EXCLUDED.call_charges_micros,
            call_debits_micros = ledger_checkpoints.call_debits_micros + EXCLUDED.call_debits_micros,
            updated_at = now()
        """;

    private const string KeepFundingKeysSql =
        """
        INSERT INTO detached_fundings (tenant_id, epoch, operation_number, reference, amount_micros, occurred_at)
        SELECT tenant_id, epoch, operation_number, reference, amount_micros, occurred_at
        FROM ledger_entries WHERE occurred_at < @before AND kind = 1 AND reference IS NOT NULL
        ON CONFLICT DO NOTHING
        """;

    /// <summary>
    /// A step that committed after its session's closing is left for the supervisor's purge; once the call record is
    /// detached nothing would tell the rebuild that the session is closed, so such steps go now.
    /// </summary>
    private const string DropClosedSessionStepsSql =
        """
        DELETE FROM session_steps j USING call_records c
        WHERE c.ended_at < @before AND j.tenant_id = c.tenant_id AND j.session_epoch = c.epoch AND j.session_number = c.session_number
        """;

    private static async Task<List<DateOnly>> AttachedMonthsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // Both tables' partitions: a month is detached only when both have it (ensure_monthly_partitions creates both).
        await using var command = new NpgsqlCommand(
            """
            SELECT substr(c.relname, length('ledger_entries_p') + 1) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'ledger_entries'::regclass
            INTERSECT
            SELECT substr(c.relname, length('call_records_p') + 1) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'call_records'::regclass
            """,
            connection);
        var months = new List<DateOnly>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            months.Add(MonthOfPartition(LedgerPrefix + reader.GetString(0)));
        }

        months.Sort();
        return months;
    }

    private static async Task<(long Micros, long Entries)> SumBeforeAsync(NpgsqlConnection connection, DateOnly before, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT coalesce(sum(amount_micros), 0)::bigint, count(*) FROM ledger_entries WHERE occurred_at < @before", connection);
        command.Parameters.AddWithValue("before", Start(before));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static async Task<PartitionMonth> DetachMonthAsync(NpgsqlConnection connection, DateOnly month, CancellationToken cancellationToken)
    {
        var ledgerTable = LedgerPrefix + Suffix(month);
        var callTable = CallPrefix + Suffix(month);
        // The names are ours (digits only after a fixed prefix), never an operator's text.
        await using var command = new NpgsqlCommand(
            $"""
            ALTER TABLE ledger_entries DETACH PARTITION {ledgerTable};
            ALTER TABLE call_records DETACH PARTITION {callTable};
            INSERT INTO detached_months (month, ledger_table, call_table, entry_count, amount_micros, call_record_count)
            SELECT @month, @ledger_table, @call_table, e.entry_count, e.amount_micros, c.call_record_count
            FROM (SELECT count(*) AS entry_count, coalesce(sum(amount_micros), 0)::bigint AS amount_micros FROM {ledgerTable}) e,
                 (SELECT count(*) AS call_record_count FROM {callTable}) c
            RETURNING entry_count, amount_micros, call_record_count, detached_at
            """,
            connection);
        command.Parameters.AddWithValue("month", month);
        command.Parameters.AddWithValue("ledger_table", ledgerTable);
        command.Parameters.AddWithValue("call_table", callTable);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (!await reader.ReadAsync(cancellationToken))
        {
            if (!await reader.NextResultAsync(cancellationToken))
            {
                throw new InvalidOperationException($"detaching {Format(month)} recorded nothing in detached_months");
            }
        }

        return new PartitionMonth(month, Detached: true, ledgerTable, callTable, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3));
    }

    /// <summary>
    /// Money conservation, checked before the commit: the detached tables hold exactly what the checkpoints gained, and
    /// the attached tables hold nothing before the boundary (a partition not of ours would leave rows there).
    /// </summary>
    private static async Task CheckDetachedAsync(
        NpgsqlConnection connection, DateOnly before, List<PartitionMonth> detached, long movedMicros, long movedEntries, CancellationToken cancellationToken)
    {
        var detachedMicros = detached.Sum(month => month.AmountMicros ?? 0);
        var detachedEntries = detached.Sum(month => month.EntryCount ?? 0);
        await using var command = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM ledger_entries WHERE occurred_at < @before) OR EXISTS (SELECT 1 FROM call_records WHERE ended_at < @before)", connection);
        command.Parameters.AddWithValue("before", Start(before));
        var left = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        if (left || detachedMicros != movedMicros || detachedEntries != movedEntries)
        {
            throw new InvalidOperationException(
                $"detaching before {Format(before)} would not conserve money: the checkpoints took {movedEntries} entries of {movedMicros} micros, the detached tables hold {detachedEntries} of {detachedMicros}, rows left before the boundary: {left}; nothing was detached");
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, DateOnly before, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (sql.Contains("@before", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("before", Start(before));
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DateTimeOffset Start(DateOnly month) => new(month.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    private static string Suffix(DateOnly month) => month.ToString("yyyyMM", CultureInfo.InvariantCulture);

    private static DateOnly MonthOfPartition(string name)
    {
        var suffix = name.StartsWith(LedgerPrefix, StringComparison.Ordinal) ? name[LedgerPrefix.Length..]
            : name.StartsWith(CallPrefix, StringComparison.Ordinal) ? name[CallPrefix.Length..]
            : throw new InvalidOperationException($"partition {name} is not one of ensure_monthly_partitions' (ledger_entries_pYYYYMM, call_records_pYYYYMM)");
        return SettlementCodec.ParseMonth(suffix);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created {Count} monthly partition tables ahead")]
    private static partial void LogCreated(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Detached {Count} months before {Before}: {Entries} ledger entries of {Micros} micros carried into ledger_checkpoints")]
    private static partial void LogDetached(ILogger logger, int count, string before, long entries, long micros);
}

/// <summary>One month's pair of partitions; the counts are known for a detached month (as they were when it was detached).</summary>
public sealed record PartitionMonth(
    DateOnly Month, bool Detached, string LedgerTable, string CallTable, long? EntryCount, long? AmountMicros, long? CallRecordCount, DateTimeOffset? DetachedAt);

/// <summary>A detach the operator asked for that would not be safe, or bad input: the message says why and what to do.</summary>
public sealed class PartitionRefusedException : Exception
{
    public PartitionRefusedException()
    {
    }

    public PartitionRefusedException(string message)
        : base(message)
    {
    }

    public PartitionRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
