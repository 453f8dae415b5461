namespace CommsCredits.Gateway.Ledger;

using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

/// <summary>
/// Writes a batch of settlements in one round trip: an NpgsqlBatch without an explicit transaction runs as one
/// implicit transaction, committed when PostgreSQL answers. The first statement takes its tenants' rebuild locks shared
/// (see <see cref="LedgerLocks"/>); the second inserts ledger entries and call records whose epoch is the tenant's current
/// one, ignores those already there, and returns each tenant's epoch so that every settlement learns its outcome.
/// "Already there" is by the key of the monthly partitions (migration 0010), which includes occurred_at (ended_at for a
/// call record): those come from the settlement text the script encoded once, so every copy of one operation (a retry,
/// the sweeper, another gateway) carries the same value, falls in the same partition and conflicts there.
/// Every part takes its rows in the order of its table's key (ORDER BY on the inserts, an ordered FOR UPDATE before the
/// update and the delete), whatever order the settlements came in: two batches holding copies of the same settlements
/// (the writer's and the sweeper's, or two gateways') then wait for each other instead of deadlocking (40P01).
/// </summary>
public sealed class LedgerBatchStore([FromKeyedServices(LedgerBatchStore.DataSourceKey)] NpgsqlDataSource dataSource)
{
    /// <summary>The key of the settlement writers' own data source in the service container (ServiceRegistration).</summary>
    public const string DataSourceKey = "settlement-writers";

    /// <summary>The tenants of the batch with their current epochs: every part below writes only rows of a live epoch.</summary>
    private const string LiveSql =
        """
        live AS (
            SELECT tenant_id, hot_epoch, currency FROM tenants WHERE tenant_id = ANY(@tenant_ids)
        )
        """;

    /// <summary>
    /// The parts of the statement, each named by the prefix of its parameters (whose "tenant" array says whether the batch
    /// has rows for it). Only the parts with rows go into the statement, so a batch of session openings does not plan and
    /// run a dozen empty inserts.
    /// </summary>
    private static readonly (string Prefix, string Sql)[] Parts =
    [
        ("e_", """
            entries AS (
                INSERT INTO ledger_entries (tenant_id, epoch, operation_number, kind, amount_micros, session_id,
                                            request_number, session_number, session_epoch, reference, note, occurred_at)
                SELECT e.tenant_id, e.epoch, e.operation_number, e.kind, e.amount_micros, e.session_id,
                       e.request_number, e.session_number, e.session_epoch, e.reference, e.note, e.occurred_at
                FROM unnest(@e_tenant, @e_epoch, @e_operation, @e_kind, @e_amount, @e_session, @e_request, @e_session_number,
                            @e_session_epoch, @e_reference, @e_note, @e_occurred)
                     AS e(tenant_id, epoch, operation_number, kind, amount_micros, session_id, request_number,
                          session_number, session_epoch, reference, note, occurred_at)
                JOIN live ON live.tenant_id = e.tenant_id AND live.hot_epoch = e.epoch
                ORDER BY e.tenant_id, e.epoch, e.operation_number, e.occurred_at
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """),
        ("l_", """
            lots AS (
                INSERT INTO funding_lots (tenant_id, epoch, operation_number, amount_micros, source, purchased_at, expires_at)
                SELECT l.tenant_id, l.epoch, l.operation_number, l.amount_micros, l.source, l.purchased_at, l.expires_at
                FROM unnest(@l_tenant, @l_epoch, @l_operation, @l_amount, @l_source, @l_purchased, @l_expires)
                     AS l(tenant_id, epoch, operation_number, amount_micros, source, purchased_at, expires_at)
                JOIN live ON live.tenant_id = l.tenant_id AND live.hot_epoch = l.epoch
                ORDER BY l.tenant_id, l.epoch, l.operation_number
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """),
        ("d_", """
            draws AS (
                INSERT INTO lot_draws (tenant_id, epoch, operation_number, lot_epoch, lot_operation_number, amount_micros)
                SELECT d.tenant_id, d.epoch, d.operation_number, d.lot_epoch, d.lot_operation_number, d.amount_micros
                FROM unnest(@d_tenant, @d_epoch, @d_operation, @d_lot_epoch, @d_lot_operation, @d_amount)
                     AS d(tenant_id, epoch, operation_number, lot_epoch, lot_operation_number, amount_micros)
                JOIN live ON live.tenant_id = d.tenant_id AND live.hot_epoch = d.epoch
                ORDER BY d.tenant_id, d.epoch, d.operation_number, d.lot_epoch, d.lot_operation_number
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """),
        ("p_", """
            pools AS (
                INSERT INTO pool_usage (tenant_id, epoch, operation_number, pool_id, month, seconds)
                SELECT p.tenant_id, p.epoch, p.operation_number, p.pool_id, p.month, p.seconds
                FROM unnest(@p_tenant, @p_epoch, @p_operation, @p_pool, @p_month, @p_seconds)
                     AS p(tenant_id, epoch, operation_number, pool_id, month, seconds)
                JOIN live ON live.tenant_id = p.tenant_id AND live.hot_epoch = p.epoch
                ORDER BY p.tenant_id, p.epoch, p.operation_number
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """),
        ("r_", """
            recharges_due AS (
                INSERT INTO recharge_requests (tenant_id, epoch, operation_number, amount_micros, currency, payment_method_reference)
                SELECT r.tenant_id, r.epoch, r.operation_number, s.recharge_micros, live.currency, s.payment_method_reference
                FROM unnest(@r_tenant, @r_epoch, @r_operation) AS r(tenant_id, epoch, operation_number)
                JOIN live ON live.tenant_id = r.tenant_id AND live.hot_epoch = r.epoch
                JOIN auto_recharge_settings s ON s.tenant_id = r.tenant_id AND s.enabled
                ORDER BY r.tenant_id, r.epoch, r.operation_number
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """),
        ("q_", """
            recharges_paid AS (
                UPDATE recharge_requests q SET status = 'succeeded', completed_at = now(), claimed_until = NULL
                WHERE (q.tenant_id, q.epoch, q.operation_number) IN (
                    SELECT r.tenant_id, r.epoch, r.operation_number
                    FROM recharge_requests r
                    JOIN unnest(@q_tenant, @q_epoch, @q_operation, @q_entry_epoch) AS p(tenant_id, epoch, operation_number, entry_epoch)
                         ON r.tenant_id = p.tenant_id AND r.epoch = p.epoch AND r.operation_number = p.operation_number
                    JOIN live ON live.tenant_id = p.tenant_id AND live.hot_epoch = p.entry_epoch
                    ORDER BY r.tenant_id, r.epoch, r.operation_number
                    FOR UPDATE OF r)
                RETURNING 1
            )
            """),
        ("n_", """
            notifications AS (
                INSERT INTO notification_outbox (tenant_id, kind, event_id, payload, occurred_at)
                SELECT n.tenant_id, n.kind, n.event_id,
                       jsonb_strip_nulls(jsonb_build_object('recharge_id', n.recharge_id, 'amount_micros', n.amount_micros,
                                                            'level_micros', n.level_micros, 'balance_micros', n.balance_micros,
                                                            'currency', live.currency)),
                       n.occurred_at
                FROM unnest(@n_tenant, @n_epoch, @n_kind, @n_event_id, @n_recharge, @n_amount, @n_level, @n_balance, @n_occurred)
                     AS n(tenant_id, epoch, kind, event_id, recharge_id, amount_micros, level_micros, balance_micros, occurred_at)
                JOIN live ON live.tenant_id = n.tenant_id AND live.hot_epoch = n.epoch
                ORDER BY n.tenant_id, n.event_id
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """),
        ("s_", """
            steps AS (
                INSERT INTO session_steps (tenant_id, epoch, operation_number, session_epoch, session_number, session_id, step,
                                           request, used_seconds, charged_micros, pool_seconds, allotted_seconds, hold_micros,
                                           granted_seconds, deadline_at, answer, opening)
                SELECT s.tenant_id, s.epoch, s.operation_number, s.session_epoch, s.session_number, s.session_id, s.step,
                       s.request, s.used_seconds, s.charged_micros, s.pool_seconds, s.allotted_seconds, s.hold_micros,
                       s.granted_seconds, s.deadline_at, s.answer, s.opening
                FROM unnest(@s_tenant, @s_epoch, @s_operation, @s_session_epoch, @s_session_number, @s_session, @s_step,
                            @s_request, @s_used, @s_charged, @s_pool, @s_allotted, @s_hold, @s_granted, @s_deadline,
                            @s_answer, @s_opening)
                     AS s(tenant_id, epoch, operation_number, session_epoch, session_number, session_id, step, request,
                          used_seconds, charged_micros, pool_seconds, allotted_seconds, hold_micros, granted_seconds,
                          deadline_at, answer, opening)
                JOIN live ON live.tenant_id = s.tenant_id AND live.hot_epoch = s.epoch
                ORDER BY s.tenant_id, s.epoch, s.operation_number
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """),
        ("x_", """
            closed_sessions AS (
                -- A closed session's journal goes with its call record (written below, in this transaction).
                DELETE FROM session_steps j
                WHERE (j.tenant_id, j.epoch, j.operation_number) IN (
                    SELECT k.tenant_id, k.epoch, k.operation_number
                    FROM session_steps k
                    JOIN unnest(@x_tenant, @x_epoch, @x_session_epoch, @x_session_number) AS x(tenant_id, epoch, session_epoch, session_number)
                         ON k.tenant_id = x.tenant_id AND k.session_epoch = x.session_epoch AND k.session_number = x.session_number
                    JOIN live ON live.tenant_id = x.tenant_id AND live.hot_epoch = x.epoch
                    ORDER BY k.tenant_id, k.epoch, k.operation_number
                    FOR UPDATE OF k)
                RETURNING 1
            )
            """),
        ("c_", """
            calls AS (
                INSERT INTO call_records (tenant_id, epoch, session_number, session_id, user_id, call_type, calling_number,
                                          called_number, started_at, ended_at, used_seconds, billed_seconds, charge_micros,
                                          uncharged_micros, currency, destination_name, rated_prefix, rate_per_minute_micros,
                                          connection_fee_micros, first_increment_seconds, next_increment_seconds,
                                          rate_effective_from, termination_cause, included_seconds, pool_id)
                SELECT c.tenant_id, c.session_epoch, c.session_number, c.session_id, c.user_id, c.call_type, c.calling_number,
                       c.called_number, c.started_at, c.ended_at, c.used_seconds, c.billed_seconds, c.charge_micros,
                       c.uncharged_micros, live.currency, c.destination_name, c.rated_prefix, c.rate_per_minute_micros,
                       c.connection_fee_micros, c.first_increment_seconds, c.next_increment_seconds,
                       c.rate_effective_from, c.termination_cause, c.included_seconds, c.pool_id
                FROM unnest(@c_tenant, @c_epoch, @c_session_epoch, @c_session_number, @c_session, @c_user, @c_call_type, @c_calling,
                            @c_called, @c_started, @c_ended, @c_used, @c_billed, @c_charge, @c_uncharged, @c_destination,
                            @c_prefix, @c_rate, @c_fee, @c_first, @c_next, @c_effective, @c_cause, @c_included, @c_pool)
                     AS c(tenant_id, epoch, session_epoch, session_number, session_id, user_id, call_type, calling_number, called_number,
                          started_at, ended_at, used_seconds, billed_seconds, charge_micros, uncharged_micros,
                          destination_name, rated_prefix, rate_per_minute_micros, connection_fee_micros,
                          first_increment_seconds, next_increment_seconds, rate_effective_from, termination_cause,
                          included_seconds, pool_id)
                JOIN live ON live.tenant_id = c.tenant_id AND live.hot_epoch = c.epoch
                ORDER BY c.tenant_id, c.session_epoch, c.session_number, c.ended_at
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """),
    ];

    /// <summary>
    /// Writes the batch. A row of a month that has no partition yet (LedgerPartitionMaintenance creates months ahead; a clock
    /// far ahead or a stopped maintenance gets beyond them) makes the batch fail as a whole; the months of the batch are
    /// then created and the batch written once more. A month that was detached is refused by ensure_monthly_partitions:
    /// that settlement fails, loudly, rather than count a second time what the month's checkpoint already counts.
    /// </summary>
    public async Task<IReadOnlyList<SettlementOutcome>> WriteBatchAsync(Settlement[] settlements, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settlements);
        try
        {
            return await WriteOnceAsync(settlements, cancellationToken);
        }
        catch (PostgresException exception) when (IsMissingPartition(exception))
        {
            foreach (var month in MonthsOf(settlements))
            {
                await LedgerPartitions.EnsureAsync(dataSource, month, 1, cancellationToken);
            }

            return await WriteOnceAsync(settlements, cancellationToken);
        }
    }

    /// <summary>"no partition of relation ... found for row": a check violation that names no constraint.</summary>
    private static bool IsMissingPartition(PostgresException exception) =>
        string.Equals(exception.SqlState, PostgresErrorCodes.CheckViolation, StringComparison.Ordinal) && string.IsNullOrEmpty(exception.ConstraintName);

    /// <summary>The months (UTC) the batch's rows are partitioned by: its entries' occurred_at and its call records' ended_at.</summary>
    private static SortedSet<DateTimeOffset> MonthsOf(Settlement[] settlements)
    {
        var months = new SortedSet<DateTimeOffset>();
        foreach (var settlement in settlements)
        {
            months.Add(MonthStart(settlement.OccurredAt));
            if (settlement.Call is { } call)
            {
                months.Add(MonthStart(call.EndedAt));
            }
        }

        return months;
    }

    private static DateTimeOffset MonthStart(DateTimeOffset moment) => new(moment.UtcDateTime.Year, moment.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);

    private async Task<IReadOnlyList<SettlementOutcome>> WriteOnceAsync(Settlement[] settlements, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        var lockCommand = new NpgsqlBatchCommand(LedgerLocks.ShareTenantsSql);
        lockCommand.Parameters.AddWithValue("lock_class", LedgerLocks.HotStateRebuildClass);
        lockCommand.Parameters.AddWithValue("tenant_ids", settlements.Select(settlement => settlement.TenantId).Distinct(StringComparer.Ordinal).ToArray());
        batch.BatchCommands.Add(lockCommand);
        var write = new NpgsqlBatchCommand();
        AddEntryParameters(write.Parameters, settlements);
        AddLotParameters(write.Parameters, settlements);
        AddPoolParameters(write.Parameters, settlements);
        AddEventParameters(write.Parameters, settlements);
        AddStepParameters(write.Parameters, settlements);
        AddCallParameters(write.Parameters, settlements);
        write.CommandText = WriteSql(write.Parameters);
        batch.BatchCommands.Add(write);

        var epochs = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                epochs[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        var outcomes = new SettlementOutcome[settlements.Length];
        for (var index = 0; index < settlements.Length; index++)
        {
            var settlement = settlements[index];
            outcomes[index] = epochs.TryGetValue(settlement.TenantId, out var epoch) && epoch == settlement.Epoch
                ? SettlementOutcome.Committed
                : SettlementOutcome.StaleEpoch;
        }

        return outcomes;
    }

    /// <summary>
    /// The statement of every set of parts, made on first use: the same text for the same parts, so that it is not built
    /// again for each batch (at a few settlements per batch its text was most of what a settlement allocated).
    /// </summary>
    private static readonly string?[] Statements = new string?[1 << Parts.Length];

    /// <summary>Each part's first parameter, present when the part has rows.</summary>
    private static readonly string[] PartTenantParameters = [.. Parts.Select(part => part.Prefix + "tenant")];

    /// <summary>The statement for the batch: the parts it has rows for, which are the parts whose parameters were added.</summary>
    private static string WriteSql(NpgsqlParameterCollection parameters)
    {
        var partSet = 0;
        for (var index = 0; index < Parts.Length; index++)
        {
            if (parameters.Contains(PartTenantParameters[index]))
            {
                partSet |= 1 << index;
            }
        }

        return Statements[partSet] ??= StatementOf(partSet);
    }

    private static string StatementOf(int partSet)
    {
        var sql = new System.Text.StringBuilder("WITH ").Append(LiveSql);
        for (var index = 0; index < Parts.Length; index++)
        {
            if ((partSet & (1 << index)) != 0)
            {
                sql.Append(", ").Append(Parts[index].Sql);
            }
        }

        return sql.Append(" SELECT tenant_id, hot_epoch FROM live").ToString();
    }

    private static void AddEntryParameters(NpgsqlParameterCollection parameters, Settlement[] settlements)
    {
        var tenants = new HashSet<string>(StringComparer.Ordinal);
        var withEntry = new List<Settlement>(settlements.Length);
        foreach (var settlement in settlements)
        {
            tenants.Add(settlement.TenantId);
            if (settlement.Entry is not null)
            {
                withEntry.Add(settlement);
            }
        }

        parameters.AddWithValue("tenant_ids", tenants.ToArray());
        Add(parameters, "e_tenant", NpgsqlDbType.Text, withEntry, s => s.TenantId);
        Add(parameters, "e_epoch", NpgsqlDbType.Bigint, withEntry, s => s.Epoch);
        Add(parameters, "e_operation", NpgsqlDbType.Bigint, withEntry, s => s.OperationNumber);
        Add(parameters, "e_kind", NpgsqlDbType.Smallint, withEntry, s => (short)s.Entry!.Kind);
        Add(parameters, "e_amount", NpgsqlDbType.Bigint, withEntry, s => s.Entry!.AmountMicros);
        Add(parameters, "e_session", NpgsqlDbType.Text, withEntry, s => s.Entry!.SessionId);
        Add(parameters, "e_request", NpgsqlDbType.Bigint, withEntry, s => s.Entry!.RequestNumber);
        Add(parameters, "e_session_number", NpgsqlDbType.Bigint, withEntry, s => s.Entry!.SessionNumber);
        Add(parameters, "e_session_epoch", NpgsqlDbType.Bigint, withEntry, s => s.Entry!.SessionNumber is null ? (long?)null : s.SessionEpoch);
        Add(parameters, "e_reference", NpgsqlDbType.Text, withEntry, s => s.Entry!.Reference);
        Add(parameters, "e_note", NpgsqlDbType.Text, withEntry, s => s.Entry!.Note);
        Add(parameters, "e_occurred", NpgsqlDbType.TimestampTz, withEntry, s => s.OccurredAt);
    }

    private static void AddLotParameters(NpgsqlParameterCollection parameters, Settlement[] settlements)
    {
        var withLot = new List<Settlement>();
        var draws = new List<(Settlement Settlement, LotDraw Draw)>();
        foreach (var settlement in settlements)
        {
            if (settlement.Entry is not { } entry)
            {
                continue;
            }

            if (entry.Lot is not null)
            {
                withLot.Add(settlement);
            }

            foreach (var draw in entry.Draws)
            {
                draws.Add((settlement, draw));
            }
        }

        Add(parameters, "l_tenant", NpgsqlDbType.Text, withLot, s => s.TenantId);
        Add(parameters, "l_epoch", NpgsqlDbType.Bigint, withLot, s => s.Epoch);
        Add(parameters, "l_operation", NpgsqlDbType.Bigint, withLot, s => s.OperationNumber);
        Add(parameters, "l_amount", NpgsqlDbType.Bigint, withLot, s => s.Entry!.AmountMicros);
        Add(parameters, "l_source", NpgsqlDbType.Smallint, withLot, s => (short)s.Entry!.Lot!.Source);
        Add(parameters, "l_purchased", NpgsqlDbType.TimestampTz, withLot, s => s.OccurredAt);
        Add(parameters, "l_expires", NpgsqlDbType.TimestampTz, withLot, s => s.Entry!.Lot!.ExpiresAt);
        Add(parameters, "d_tenant", NpgsqlDbType.Text, draws, d => d.Settlement.TenantId);
        Add(parameters, "d_epoch", NpgsqlDbType.Bigint, draws, d => d.Settlement.Epoch);
        Add(parameters, "d_operation", NpgsqlDbType.Bigint, draws, d => d.Settlement.OperationNumber);
        Add(parameters, "d_lot_epoch", NpgsqlDbType.Bigint, draws, d => d.Draw.Lot.Epoch);
        Add(parameters, "d_lot_operation", NpgsqlDbType.Bigint, draws, d => d.Draw.Lot.OperationNumber);
        Add(parameters, "d_amount", NpgsqlDbType.Bigint, draws, d => d.Draw.AmountMicros);
    }

    private static void AddPoolParameters(NpgsqlParameterCollection parameters, Settlement[] settlements)
    {
        var withPool = settlements.Where(settlement => settlement.PoolUse is not null).ToList();
        Add(parameters, "p_tenant", NpgsqlDbType.Text, withPool, s => s.TenantId);
        Add(parameters, "p_epoch", NpgsqlDbType.Bigint, withPool, s => s.Epoch);
        Add(parameters, "p_operation", NpgsqlDbType.Bigint, withPool, s => s.OperationNumber);
        Add(parameters, "p_pool", NpgsqlDbType.Text, withPool, s => s.PoolUse!.PoolId);
        Add(parameters, "p_month", NpgsqlDbType.Date, withPool, s => s.PoolUse!.Month);
        Add(parameters, "p_seconds", NpgsqlDbType.Bigint, withPool, s => s.PoolUse!.Seconds);
    }

    private static void AddEventParameters(NpgsqlParameterCollection parameters, Settlement[] settlements)
    {
        var due = new List<Settlement>();
        var paid = new List<(Settlement Settlement, EntryKey Request)>();
        var notifications = new List<(Settlement Settlement, Notification Notice)>();
        foreach (var settlement in settlements)
        {
            foreach (var settlementEvent in settlement.Events)
            {
                if (string.Equals(settlementEvent.Name, SettlementEvent.RechargeDue, StringComparison.Ordinal))
                {
                    due.Add(settlement);
                    continue;
                }

                var notice = Notification.Of(settlement, settlementEvent);
                notifications.Add((settlement, notice));
                if (notice.RechargeId is { } request)
                {
                    paid.Add((settlement, EntryKey.Parse(request)));
                }
            }
        }

        Add(parameters, "r_tenant", NpgsqlDbType.Text, due, s => s.TenantId);
        Add(parameters, "r_epoch", NpgsqlDbType.Bigint, due, s => s.Epoch);
        Add(parameters, "r_operation", NpgsqlDbType.Bigint, due, s => s.OperationNumber);
        Add(parameters, "q_tenant", NpgsqlDbType.Text, paid, p => p.Settlement.TenantId);
        Add(parameters, "q_epoch", NpgsqlDbType.Bigint, paid, p => p.Request.Epoch);
        Add(parameters, "q_operation", NpgsqlDbType.Bigint, paid, p => p.Request.OperationNumber);
        Add(parameters, "q_entry_epoch", NpgsqlDbType.Bigint, paid, p => p.Settlement.Epoch);
        Add(parameters, "n_tenant", NpgsqlDbType.Text, notifications, n => n.Settlement.TenantId);
        Add(parameters, "n_epoch", NpgsqlDbType.Bigint, notifications, n => n.Settlement.Epoch);
        Add(parameters, "n_kind", NpgsqlDbType.Text, notifications, n => n.Notice.Kind);
        Add(parameters, "n_event_id", NpgsqlDbType.Text, notifications, n => n.Notice.EventId(n.Settlement));
        Add(parameters, "n_recharge", NpgsqlDbType.Text, notifications, n => n.Notice.RechargeId);
        Add(parameters, "n_amount", NpgsqlDbType.Bigint, notifications, n => n.Notice.AmountMicros);
        Add(parameters, "n_level", NpgsqlDbType.Bigint, notifications, n => n.Notice.LevelMicros);
        Add(parameters, "n_balance", NpgsqlDbType.Bigint, notifications, n => n.Notice.BalanceMicros);
        Add(parameters, "n_occurred", NpgsqlDbType.TimestampTz, notifications, n => n.Settlement.OccurredAt);
    }

    /// <summary>A notification a settlement event causes: its kind and the facts of its payload (the currency is the tenant's).</summary>
    private sealed record Notification(string Kind, string? RechargeId, long? AmountMicros, long? BalanceMicros, long? LevelMicros = null)
    {
        /// <summary>"epoch.operation:kind", and the level for a low-balance warning (one debit can cross several).</summary>
        public string EventId(Settlement settlement) =>
            LevelMicros is { } level
                ? $"{settlement.Epoch}.{settlement.OperationNumber}:{Kind}:{level}"
                : $"{settlement.Epoch}.{settlement.OperationNumber}:{Kind}";

        public static Notification Of(Settlement settlement, SettlementEvent settlementEvent)
        {
            var amount = settlement.Entry?.AmountMicros ?? 0;
            switch (settlementEvent.Name)
            {
                case SettlementEvent.BalanceReachedZero:
                    return new Notification(settlementEvent.Name, null, null, null);
                case SettlementEvent.FundsExpired:
                    return new Notification(settlementEvent.Name, null, -amount, null);
                case SettlementEvent.RechargeSucceeded:
                    var (request, balanceAfter) = Split(settlementEvent);
                    return new Notification(settlementEvent.Name, request, amount, Balances.Netstrings.ParseInteger(balanceAfter));
                case SettlementEvent.LowBalance:
                    var (level, balance) = Split(settlementEvent);
                    return new Notification(settlementEvent.Name, null, null, Balances.Netstrings.ParseInteger(balance), Balances.Netstrings.ParseInteger(level));
                default:
                    throw new FormatException($"settlement event '{settlementEvent.Name}' causes no notification");
            }
        }

        private static (string First, string Second) Split(SettlementEvent settlementEvent)
        {
            var slash = settlementEvent.Value.IndexOf('/', StringComparison.Ordinal);
            return slash > 0
                ? (settlementEvent.Value[..slash], settlementEvent.Value[(slash + 1)..])
                : throw new FormatException($"{settlementEvent.Name} needs a value 'a/b', not '{settlementEvent.Value}'");
        }
    }

    private static void AddStepParameters(NpgsqlParameterCollection parameters, Settlement[] settlements)
    {
        var steps = new List<Settlement>();
        var closings = new List<Settlement>();
        foreach (var settlement in settlements)
        {
            if (settlement.Step is { } step)
            {
                (step.Kind == SessionStepKind.Closing ? closings : steps).Add(settlement);
            }
        }

        Add(parameters, "s_tenant", NpgsqlDbType.Text, steps, s => s.TenantId);
        Add(parameters, "s_epoch", NpgsqlDbType.Bigint, steps, s => s.Epoch);
        Add(parameters, "s_operation", NpgsqlDbType.Bigint, steps, s => s.OperationNumber);
        Add(parameters, "s_session_epoch", NpgsqlDbType.Bigint, steps, s => s.Step!.SessionEpoch);
        Add(parameters, "s_session_number", NpgsqlDbType.Bigint, steps, s => s.Step!.SessionNumber);
        Add(parameters, "s_session", NpgsqlDbType.Text, steps, s => s.Step!.SessionId);
        Add(parameters, "s_step", NpgsqlDbType.Smallint, steps, s => (short)s.Step!.Kind);
        Add(parameters, "s_request", NpgsqlDbType.Text, steps, s => s.Step!.Request);
        Add(parameters, "s_used", NpgsqlDbType.Bigint, steps, s => s.Step!.UsedSeconds);
        Add(parameters, "s_charged", NpgsqlDbType.Bigint, steps, s => s.Step!.ChargedMicros);
        Add(parameters, "s_pool", NpgsqlDbType.Bigint, steps, s => s.Step!.PoolSeconds);
        Add(parameters, "s_allotted", NpgsqlDbType.Bigint, steps, s => s.Step!.AllottedSeconds);
        Add(parameters, "s_hold", NpgsqlDbType.Bigint, steps, s => s.Step!.HoldMicros);
        Add(parameters, "s_granted", NpgsqlDbType.Bigint, steps, s => s.Step!.GrantedSeconds);
        Add(parameters, "s_deadline", NpgsqlDbType.TimestampTz, steps, s => s.Step!.DeadlineAt);
        Add(parameters, "s_answer", NpgsqlDbType.Text, steps, s => s.Step!.Answer);
        Add(parameters, "s_opening", NpgsqlDbType.Text, steps, s => s.Step!.OpeningFields);
        Add(parameters, "x_tenant", NpgsqlDbType.Text, closings, s => s.TenantId);
        Add(parameters, "x_epoch", NpgsqlDbType.Bigint, closings, s => s.Epoch);
        Add(parameters, "x_session_epoch", NpgsqlDbType.Bigint, closings, s => s.Step!.SessionEpoch);
        Add(parameters, "x_session_number", NpgsqlDbType.Bigint, closings, s => s.Step!.SessionNumber);
    }

    private static void AddCallParameters(NpgsqlParameterCollection parameters, Settlement[] settlements)
    {
        var withCall = new List<Settlement>(settlements.Length);
        foreach (var settlement in settlements)
        {
            if (settlement.Call is not null)
            {
                withCall.Add(settlement);
            }
        }

        Add(parameters, "c_tenant", NpgsqlDbType.Text, withCall, s => s.TenantId);
        Add(parameters, "c_epoch", NpgsqlDbType.Bigint, withCall, s => s.Epoch);
        Add(parameters, "c_session_epoch", NpgsqlDbType.Bigint, withCall, s => s.SessionEpoch);
        Add(parameters, "c_session_number", NpgsqlDbType.Bigint, withCall, s => s.Call!.SessionNumber);
        Add(parameters, "c_session", NpgsqlDbType.Text, withCall, s => s.Call!.SessionId);
        Add(parameters, "c_user", NpgsqlDbType.Text, withCall, s => s.Call!.UserId);
        Add(parameters, "c_call_type", NpgsqlDbType.Smallint, withCall, s => (short)s.Call!.CallType);
        Add(parameters, "c_calling", NpgsqlDbType.Text, withCall, s => s.Call!.CallingNumber);
        Add(parameters, "c_called", NpgsqlDbType.Text, withCall, s => s.Call!.CalledNumber);
        Add(parameters, "c_started", NpgsqlDbType.TimestampTz, withCall, s => s.Call!.StartedAt);
        Add(parameters, "c_ended", NpgsqlDbType.TimestampTz, withCall, s => s.Call!.EndedAt);
        Add(parameters, "c_used", NpgsqlDbType.Bigint, withCall, s => s.Call!.UsedSeconds);
        Add(parameters, "c_billed", NpgsqlDbType.Bigint, withCall, s => s.Call!.BilledSeconds);
        Add(parameters, "c_charge", NpgsqlDbType.Bigint, withCall, s => s.Call!.ChargeMicros);
        Add(parameters, "c_uncharged", NpgsqlDbType.Bigint, withCall, s => s.Call!.UnchargedMicros);
        Add(parameters, "c_destination", NpgsqlDbType.Text, withCall, s => s.Call!.DestinationName);
        Add(parameters, "c_prefix", NpgsqlDbType.Text, withCall, s => s.Call!.RatedPrefix);
        Add(parameters, "c_rate", NpgsqlDbType.Bigint, withCall, s => s.Call!.RatePerMinuteMicros);
        Add(parameters, "c_fee", NpgsqlDbType.Bigint, withCall, s => s.Call!.ConnectionFeeMicros);
        Add(parameters, "c_first", NpgsqlDbType.Integer, withCall, s => s.Call!.FirstIncrementSeconds);
        Add(parameters, "c_next", NpgsqlDbType.Integer, withCall, s => s.Call!.NextIncrementSeconds);
        Add(parameters, "c_effective", NpgsqlDbType.TimestampTz, withCall, s => s.Call!.RateEffectiveFrom);
        Add(parameters, "c_cause", NpgsqlDbType.Smallint, withCall, s => (short)s.Call!.TerminationCause);
        Add(parameters, "c_included", NpgsqlDbType.Bigint, withCall, s => s.Call!.IncludedSeconds);
        Add(parameters, "c_pool", NpgsqlDbType.Text, withCall, s => s.Call!.PoolId);
    }

    /// <summary>Adds one column of a part; a part without rows gets no parameters, and so no place in the statement.</summary>
    private static void Add<TRow, T>(NpgsqlParameterCollection parameters, string name, NpgsqlDbType type, List<TRow> rows, Func<TRow, T> column)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var values = new T[rows.Count];
        for (var index = 0; index < rows.Count; index++)
        {
            values[index] = column(rows[index]);
        }

        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values });
    }
}
