namespace CommsCredits.Gateway.Ledger;

using System.Diagnostics;
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
public sealed partial class LedgerPartitions(
    NpgsqlDataSource dataSource,
    Lazy<PendingSettlements> pending,
    IOptions<LedgerOptions> options,
    TimeProvider timeProvider,
    ILogger<LedgerPartitions> logger)
{
    /// <summary>Most months one detach takes: it seals and sums them all before it detaches any.</summary>
    public const int MaxMonthsPerDetach = 24;

    /// <summary>
    /// The latest month a detach may keep (--before) is this many months before the current one: the current month and the
    /// one before it always stay attached, so that a settlement arriving late (a retry, the pending sweeper, a session
    /// closed by supervision) never finds its month detached.
    /// </summary>
    public const int AttachedMonthsMinimum = 1;

    /// <summary>
    /// Most settlements pending in Redis that a detach reads to check none is dated in its months; with more pending
    /// (the ledger far behind Redis), it refuses until the sweeper has written them.
    /// </summary>
    public const int MaxPendingChecked = 100_000;

    /// <summary>How many of the pending settlements that stop a detach its refusal names.</summary>
    private const int PendingNamed = 5;

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
            SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.conname = c.relname || @seal_suffix)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent IN ('ledger_entries'::regclass, 'call_records'::regclass)
            """,
            connection))
        {
            attached.Parameters.AddWithValue("seal_suffix", SealSuffix);
            await using var reader = await attached.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var month = MonthOfPartition(reader.GetString(0));
                var sealedNow = reader.GetBoolean(1) || months.GetValueOrDefault(month)?.Sealed == true;
                months[month] = new PartitionMonth(month, Detached: false, LedgerPrefix + Suffix(month), CallPrefix + Suffix(month), null, null, null, null, sealedNow);
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
    /// Detaches every attached month before <paramref name="before"/> (the first of a month) in three steps, so that the
    /// ledger is held exclusively only for the last one, whatever the months hold:
    /// 1. seals the months' partitions (a CHECK (false) NOT VALID constraint: no row can be added to them any more, and
    ///    writers of other months are not held);
    /// 2. sums them, without locking the ledger against writers or readers, into what each tenant's ledger_checkpoints
    ///    row gains, the months' funding keys and each month's totals, and checks that those sums agree;
    /// 3. under an exclusive lock of ledger_entries and call_records: adds the sums to the checkpoints, keeps the funding
    ///    keys, drops the journal steps of sessions whose call record goes, detaches the partitions, records them in
    ///    detached_months, and checks that nothing is left before the boundary, or rolls it all back.
    /// A detach that fails after step 1 removes its seals again. Throws <see cref="PartitionRefusedException"/> when the
    /// month is too recent, or when the months changed between the steps (run it again).
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
        var months = (await AttachedMonthsAsync(connection, cancellationToken)).Where(month => month < before).ToList();
        if (months.Count == 0)
        {
            return [];
        }

        if (months.Count > MaxMonthsPerDetach)
        {
            throw new PartitionRefusedException(
                $"{months.Count} months are attached before {Format(before)}; one detach takes at most {MaxMonthsPerDetach}: use an earlier --before first (from {Format(months[MaxMonthsPerDetach])})");
        }

        await RefusePendingBeforeAsync(before, cancellationToken);
        var seals = await SealAsync(connection, months, cancellationToken);
        var detached = false;
        try
        {
            var started = Stopwatch.GetTimestamp();
            var totals = await SumSealedAsync(connection, before, months, cancellationToken);
            var summed = Stopwatch.GetTimestamp();
            var result = await DetachSealedAsync(connection, before, seals, totals, cancellationToken);
            detached = true;
            LogDetached(
                logger, result.Count, Format(before), totals.Sum(month => month.EntryCount), totals.Sum(month => month.AmountMicros),
                (long)Stopwatch.GetElapsedTime(started, summed).TotalMilliseconds, (long)Stopwatch.GetElapsedTime(summed).TotalMilliseconds);
            return result;
        }
        finally
        {
            if (!detached)
            {
                await UnsealAsync(months);
            }

            await DropSumsAsync(connection);
        }
    }

    /// <summary>
    /// Refuses a detach while Redis holds a settlement dated before <paramref name="before"/> that the ledger may not
    /// have: once its month is sealed it could never be written (a lost charge), and once detached the checkpoint would
    /// not hold it. Such a settlement is rare (the sweeper writes what a gateway left within seconds), so it is reported,
    /// not waited for. A record that cannot be read, or more pending than the check reads, refuses too: either may hide one.
    /// Settlements made from now on are dated now, after every month a detach may take.
    /// </summary>
    private async Task RefusePendingBeforeAsync(DateOnly before, CancellationToken cancellationToken)
    {
        var read = await pending.Value.ReadAsync(MaxPendingChecked, cancellationToken);
        if (read.Unreadable.Count > 0)
        {
            throw new PartitionRefusedException(
                $"{Settlements(read.Unreadable.Count)} pending in Redis cannot be read (first in {read.Unreadable[0].Key}: {read.Unreadable[0].Error.Message}); one may be dated in the months to detach");
        }

        if (!read.Complete)
        {
            throw new PartitionRefusedException(
                $"more than {MaxPendingChecked} settlements are pending in Redis, more than a detach checks; detach once the pending sweeper has written them");
        }

        var boundary = new DateTimeOffset(before.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var early = read.Settlements.Where(settlement => settlement.OccurredAt < boundary).OrderBy(settlement => settlement.OccurredAt).ToList();
        if (early.Count > 0)
        {
            var named = string.Join(", ", early.Take(PendingNamed).Select(settlement => string.Create(
                CultureInfo.InvariantCulture, $"tenant {settlement.TenantId} operation {settlement.OperationNumber} of {settlement.OccurredAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}")));
            throw new PartitionRefusedException(
                $"{Settlements(early.Count)} dated before {Format(before)} {(early.Count == 1 ? "is" : "are")} pending in Redis and not known to be in the ledger ({named}); a sealed month could never take them. The pending sweeper writes them (Settlement:SweepIntervalSeconds): detach once they are written");
        }
    }

    private static string Settlements(int count) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {(count == 1 ? "settlement" : "settlements")}");

    /// <summary>Whole months' totals, summed from a sealed partition pair.</summary>
    private sealed record MonthTotals(DateOnly Month, long EntryCount, long AmountMicros, long CallRecordCount);

    /// <summary>
    /// Step 1: a constraint no row satisfies, NOT VALID so that the rows already there are not read. Adding it takes the
    /// months' partitions alone exclusively, for as long as the transactions that use them take to finish (at most
    /// lock_timeout): from its commit no transaction can add, or change, a row of these months, so the sums of step 2 are
    /// the months' final contents. Returns each constraint's oid, which step 3 checks is still there.
    /// </summary>
    private static async Task<Dictionary<string, uint>> SealAsync(NpgsqlConnection connection, List<DateOnly> months, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "SET LOCAL lock_timeout = '10s'", cancellationToken);
        var tables = months.SelectMany(PartitionTables).ToList();
        var sealedBefore = await SealsAsync(connection, tables, cancellationToken);
        foreach (var table in tables.Where(table => !sealedBefore.ContainsKey(table)))
        {
            // The names are ours (digits only after a fixed prefix), never an operator's text.
            await ExecuteAsync(connection, $"ALTER TABLE {table} ADD CONSTRAINT {SealName(table)} CHECK (false) NOT VALID", cancellationToken);
        }

        var seals = await SealsAsync(connection, tables, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return seals;
    }

    /// <summary>The oid of the seal of each of <paramref name="tables"/> that has one.</summary>
    private static async Task<Dictionary<string, uint>> SealsAsync(NpgsqlConnection connection, List<string> tables, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT c.relname::text, k.oid FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid AND k.conname = c.relname || @seal_suffix
            WHERE c.relname = ANY (@tables) AND c.relnamespace = current_schema()::regnamespace
            """,
            connection);
        command.Parameters.AddWithValue("seal_suffix", SealSuffix);
        command.Parameters.AddWithValue("tables", tables);
        var seals = new Dictionary<string, uint>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            seals[reader.GetString(0)] = reader.GetFieldValue<uint>(1);
        }

        return seals;
    }

    /// <summary>
    /// Takes the seals off again after a detach that failed, so that the months take late settlements as before; on a
    /// connection of its own, since the detach's may be what failed.
    /// </summary>
    private async Task UnsealAsync(List<DateOnly> months)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
            foreach (var table in months.SelectMany(PartitionTables))
            {
                await ExecuteAsync(connection, $"ALTER TABLE IF EXISTS {table} DROP CONSTRAINT IF EXISTS {SealName(table)}", CancellationToken.None);
            }
        }
        catch (NpgsqlException exception)
        {
            // The detach's own error is the one to report; a seal left in place is shown by `partitions list`, and the
            // next detach takes it over.
            LogUnsealFailed(logger, exception);
        }
    }

    /// <summary>Drops step 2's temporary tables; a connection that broke has lost them already.</summary>
    private static async Task DropSumsAsync(NpgsqlConnection connection)
    {
        try
        {
            await ExecuteAsync(connection, $"DROP TABLE IF EXISTS {CheckpointGainTable}, {FundingKeysTable}, {ClosedSessionStepsTable}", CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // Nothing to drop on a broken connection: temporary tables end with their session.
        }
    }

    /// <summary>
    /// Step 2, in one REPEATABLE READ snapshot and without locking the ledger: what each tenant's checkpoint gains, the
    /// months' funding keys and the journal steps of their closed sessions (in temporary tables of this connection), and
    /// each month's totals. The three sums of the months' entries (per tenant, per partition, and over the ledger before
    /// the boundary) must agree.
    /// </summary>
    private static async Task<List<MonthTotals>> SumSealedAsync(NpgsqlConnection connection, DateOnly before, List<DateOnly> months, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await ExecuteAsync(connection, CheckpointGainSql, before, cancellationToken);
        await ExecuteAsync(connection, FundingKeysSql, before, cancellationToken);
        await ExecuteAsync(connection, ClosedSessionStepsSql, before, cancellationToken);
        var totals = new List<MonthTotals>(months.Count);
        foreach (var month in months)
        {
            await using var command = new NpgsqlCommand(
                $"""
                SELECT e.entry_count, e.amount_micros, c.call_record_count
                FROM (SELECT count(*) AS entry_count, coalesce(sum(amount_micros), 0)::bigint AS amount_micros FROM {LedgerPrefix + Suffix(month)}) e,
                     (SELECT count(*) AS call_record_count FROM {CallPrefix + Suffix(month)}) c
                """,
                connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            totals.Add(new MonthTotals(month, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        await using (var check = new NpgsqlCommand(
            $"""
            SELECT (SELECT coalesce(sum(amount_micros), 0)::bigint FROM ledger_entries WHERE occurred_at < @before),
                   (SELECT count(*) FROM ledger_entries WHERE occurred_at < @before),
                   (SELECT coalesce(sum(balance_micros), 0)::bigint FROM {CheckpointGainTable}),
                   (SELECT coalesce(sum(entry_count), 0)::bigint FROM {CheckpointGainTable})
            """,
            connection))
        {
            check.Parameters.AddWithValue("before", Start(before));
            await using var reader = await check.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var (ledgerMicros, ledgerEntries, gainedMicros, gainedEntries) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
            var (monthsMicros, monthsEntries) = (totals.Sum(month => month.AmountMicros), totals.Sum(month => month.EntryCount));
            if (ledgerMicros != monthsMicros || ledgerEntries != monthsEntries || gainedMicros != monthsMicros || gainedEntries != monthsEntries)
            {
                throw new InvalidOperationException(
                    $"detaching before {Format(before)} would not conserve money: the ledger holds {ledgerEntries} entries of {ledgerMicros} micros before it, the months' partitions {monthsEntries} of {monthsMicros}, the checkpoints would gain {gainedEntries} of {gainedMicros}; nothing was detached");
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return totals;
    }

    /// <summary>
    /// Step 3, the only one that holds the ledger: writers and readers wait for it (lock_timeout bounds how long it waits
    /// for them), and every reader that adds a checkpoint to the ledger does it in one statement or after LOCK TABLE, so
    /// none sees a month twice or not at all. Nothing here reads the months' rows; it refuses (rolling back) when the
    /// months attached before the boundary, or their seals, are not the ones summed.
    /// </summary>
    private static async Task<List<PartitionMonth>> DetachSealedAsync(
        NpgsqlConnection connection, DateOnly before, Dictionary<string, uint> seals, List<MonthTotals> totals, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "SET LOCAL lock_timeout = '10s'; LOCK TABLE ledger_entries, call_records IN ACCESS EXCLUSIVE MODE", cancellationToken);
        var attached = (await AttachedMonthsAsync(connection, cancellationToken)).Where(month => month < before).ToList();
        if (!attached.SequenceEqual(totals.Select(month => month.Month)))
        {
            throw new PartitionRefusedException(
                $"the months attached before {Format(before)} changed while they were summed (now {string.Join(", ", attached.Select(Format))}); nothing was detached: run it again");
        }

        var sealsNow = await SealsAsync(connection, [.. seals.Keys], cancellationToken);
        if (seals.FirstOrDefault(seal => sealsNow.GetValueOrDefault(seal.Key) != seal.Value).Key is { } unsealed)
        {
            throw new PartitionRefusedException($"the seal of {unsealed} was removed while its month was summed; nothing was detached: run it again");
        }

        await ExecuteAsync(connection, ApplyCheckpointGainSql, cancellationToken);
        await ExecuteAsync(connection, $"""
            INSERT INTO detached_fundings (tenant_id, epoch, operation_number, reference, amount_micros, occurred_at)
            SELECT tenant_id, epoch, operation_number, reference, amount_micros, occurred_at FROM {FundingKeysTable}
            ON CONFLICT DO NOTHING
            """, cancellationToken);
        await ExecuteAsync(connection, DropClosedSessionStepsSql, cancellationToken);
        var detached = new List<PartitionMonth>(totals.Count);
        foreach (var month in totals)
        {
            detached.Add(await DetachMonthAsync(connection, month, cancellationToken));
        }

        await using (var check = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM ledger_entries WHERE occurred_at < @before) OR EXISTS (SELECT 1 FROM call_records WHERE ended_at < @before)", connection))
        {
            check.Parameters.AddWithValue("before", Start(before));
            if ((bool)(await check.ExecuteScalarAsync(cancellationToken))!)
            {
                throw new InvalidOperationException(
                    $"detaching before {Format(before)} would leave rows before the boundary in the ledger (a partition not made by ensure_monthly_partitions?); nothing was detached");
            }
        }

        await transaction.CommitAsync(cancellationToken);
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
    private const string CheckpointGainSql =
        $"""
        CREATE TEMPORARY TABLE {CheckpointGainTable} AS
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
        SELECT t.tenant_id, coalesce(e.balance, 0) AS balance_micros, coalesce(e.funded, 0) AS funded_micros,
               coalesce(e.debited, 0) AS debited_micros, coalesce(e.refunded, 0) AS refunded_micros, coalesce(e.expired, 0) AS expired_micros,
               coalesce(e.entry_count, 0) AS entry_count, coalesce(c.call_count, 0) AS call_record_count,
               coalesce(c.charges, 0) AS call_charges_micros, coalesce(p.debits, 0) AS call_debits_micros
        FROM touched t LEFT JOIN entries e USING (tenant_id) LEFT JOIN calls c USING (tenant_id) LEFT JOIN paired p USING (tenant_id)
        """;

    /// <summary>Adds what <see cref="CheckpointGainSql"/> summed to each tenant's checkpoint.</summary>
    private const string ApplyCheckpointGainSql =
        $"""
        INSERT INTO ledger_checkpoints (tenant_id, balance_micros, funded_micros, debited_micros, refunded_micros, expired_micros,
                                        entry_count, call_record_count, call_charges_micros, call_debits_micros)
        SELECT tenant_id, balance_micros, funded_micros, debited_micros, refunded_micros, expired_micros,
               entry_count, call_record_count, call_charges_micros, call_debits_micros
        FROM {CheckpointGainTable}
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

    /// <summary>The months' funding keys, in detached_fundings' columns, for step 3 to keep.</summary>
    private const string FundingKeysSql =
        $"""
        CREATE TEMPORARY TABLE {FundingKeysTable} AS
        SELECT tenant_id, epoch, operation_number, reference, amount_micros, occurred_at
        FROM ledger_entries WHERE occurred_at < @before AND kind = 1 AND reference IS NOT NULL
        """;

    /// <summary>The temporary tables of step 2 (this connection's only, dropped when the detach ends).</summary>
    private const string CheckpointGainTable = "detach_checkpoint_gain";

    private const string FundingKeysTable = "detach_funding_keys";

    private const string ClosedSessionStepsTable = "detach_closed_session_steps";

    /// <summary>
    /// A step that committed after its session's closing is left for the supervisor's purge; once the call record is
    /// detached nothing would tell the rebuild that the session is closed, so such steps go. Step 2 finds them (this join
    /// reads the months' call records), step 3 deletes them by key (<see cref="DropClosedSessionStepsSql"/>).
    /// </summary>
    private const string ClosedSessionStepsSql =
        $"""
        CREATE TEMPORARY TABLE {ClosedSessionStepsTable} AS
        SELECT j.tenant_id, j.epoch, j.operation_number FROM session_steps j JOIN call_records c
            ON j.tenant_id = c.tenant_id AND j.session_epoch = c.epoch AND j.session_number = c.session_number
        WHERE c.ended_at < @before
        """;

    private const string DropClosedSessionStepsSql =
        $"""
        DELETE FROM session_steps j USING {ClosedSessionStepsTable} t
        WHERE j.tenant_id = t.tenant_id AND j.epoch = t.epoch AND j.operation_number = t.operation_number
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

    private static async Task<PartitionMonth> DetachMonthAsync(NpgsqlConnection connection, MonthTotals totals, CancellationToken cancellationToken)
    {
        var ledgerTable = LedgerPrefix + Suffix(totals.Month);
        var callTable = CallPrefix + Suffix(totals.Month);
        // The archived tables keep no seal: they are out of the ledger, as they were before a seal existed.
        await using var command = new NpgsqlCommand(
            $"""
            ALTER TABLE ledger_entries DETACH PARTITION {ledgerTable};
            ALTER TABLE call_records DETACH PARTITION {callTable};
            ALTER TABLE {ledgerTable} DROP CONSTRAINT {SealName(ledgerTable)};
            ALTER TABLE {callTable} DROP CONSTRAINT {SealName(callTable)};
            INSERT INTO detached_months (month, ledger_table, call_table, entry_count, amount_micros, call_record_count)
            VALUES (@month, @ledger_table, @call_table, @entry_count, @amount_micros, @call_record_count)
            RETURNING detached_at
            """,
            connection);
        command.Parameters.AddWithValue("month", totals.Month);
        command.Parameters.AddWithValue("ledger_table", ledgerTable);
        command.Parameters.AddWithValue("call_table", callTable);
        command.Parameters.AddWithValue("entry_count", totals.EntryCount);
        command.Parameters.AddWithValue("amount_micros", totals.AmountMicros);
        command.Parameters.AddWithValue("call_record_count", totals.CallRecordCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (!await reader.ReadAsync(cancellationToken))
        {
            if (!await reader.NextResultAsync(cancellationToken))
            {
                throw new InvalidOperationException($"detaching {Format(totals.Month)} recorded nothing in detached_months");
            }
        }

        var detachedAt = reader.GetFieldValue<DateTimeOffset>(0);
        return new PartitionMonth(totals.Month, Detached: true, ledgerTable, callTable, totals.EntryCount, totals.AmountMicros, totals.CallRecordCount, detachedAt);
    }

    /// <summary>The two partitions of a month.</summary>
    private static string[] PartitionTables(DateOnly month) => [LedgerPrefix + Suffix(month), CallPrefix + Suffix(month)];

    /// <summary>What a partition's name is followed by in its seal's (at most 14 + 6 + 7 characters, within PostgreSQL's 63).</summary>
    private const string SealSuffix = "_sealed";

    private static string SealName(string table) => table + SealSuffix;

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, DateOnly before, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("before", Start(before));
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

    [LoggerMessage(Level = LogLevel.Error, Message = "A detach that failed could not take the seals off its months; `partitions list` shows them sealed, and a new detach takes them over")]
    private static partial void LogUnsealFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Detached {Count} months before {Before}: {Entries} ledger entries of {Micros} micros carried into ledger_checkpoints; summed in {SummedMs} ms while the ledger was written, which was then held for {HeldMs} ms")]
    private static partial void LogDetached(ILogger logger, int count, string before, long entries, long micros, long summedMs, long heldMs);
}

/// <summary>
/// One month's pair of partitions; the counts are known for a detached month (as they were when it was detached).
/// Sealed: attached, but taking no rows, because a detach is summing it (or one failed and could not unseal it).
/// </summary>
public sealed record PartitionMonth(
    DateOnly Month, bool Detached, string LedgerTable, string CallTable, long? EntryCount, long? AmountMicros, long? CallRecordCount, DateTimeOffset? DetachedAt,
    bool Sealed = false);

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
