namespace CommsCredits.Gateway.Reconciliation;

using System.Data;
using System.Globalization;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Tenants;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using LedgerEntryKind = CommsCredits.Gateway.Ledger.LedgerEntryKind;

/// <summary>
/// Compares, per tenant, Redis's hot state with the ledger and the ledger with the call records (docs/charging.md,
/// "Reconciliation"), and repairs Redis by rebuilding it from the ledger.
///
/// Redis is read in one snapshot (reconcile_snapshot.lua): its balance, its lots, the last operation number it gave out
/// (opseq) and its pending settlements. The ledger is then read in one PostgreSQL snapshot, counting only the entries
/// of operations Redis had applied (those of the current epoch numbered above opseq came later). Every operation Redis
/// applied is either in the ledger or still in the pending hash, so Redis's balance must be the ledger's plus the pending
/// settlements the ledger does not hold: a busy tenant shows no drift.
/// </summary>
public sealed partial class Reconciler(
    NpgsqlDataSource dataSource,
    TenantRepository tenantRepository,
    IHotStore hotStore,
    HotStateLoader loader,
    SettlementWriter writer,
    IOptions<ReconciliationOptions> options,
    TimeProvider timeProvider,
    ILogger<Reconciler> logger)
{
    private readonly ReconciliationOptions settings = options.Value;

    /// <summary>
    /// Reconciles one tenant; null when there is no such tenant. Drift is checked twice, <see
    /// cref="ReconciliationOptions.ConfirmDelayMs"/> apart, and reported only when the second check finds it too.
    /// </summary>
    public async Task<TenantReconciliation?> CheckAsync(string tenantId, CancellationToken cancellationToken)
    {
        var first = await CheckOnceAsync(tenantId, cancellationToken);
        if (first is null || first.Drift == DriftKinds.None)
        {
            return first;
        }

        await Task.Delay(TimeSpan.FromMilliseconds(settings.ConfirmDelayMs), timeProvider, cancellationToken);
        return await CheckOnceAsync(tenantId, cancellationToken);
    }

    /// <summary>
    /// Reconciles the tenants in tenant id order, starting after <paramref name="startAfter"/> (or at the first), at most
    /// <see cref="ReconciliationOptions.TenantsPerRun"/>, handing each outcome to <paramref name="report"/>. With
    /// <paramref name="repair"/>, a tenant whose Redis drifted is rebuilt from the ledger.
    /// </summary>
    public async Task<ReconciliationSummary> RunAsync(
        string? startAfter, bool repair, Func<TenantOutcome, CancellationToken, Task> report, CancellationToken cancellationToken)
    {
        var summary = new ReconciliationSummary();
        var after = startAfter ?? string.Empty;
        var listed = 0;
        while (true)
        {
            var wanted = Math.Min(settings.PageSize, settings.TenantsPerRun - listed);
            if (wanted == 0)
            {
                summary.LastTenantId = after;
                return summary;
            }

            var page = await tenantRepository.ListIdsAsync(after, wanted, cancellationToken);
            foreach (var tenantId in page)
            {
                var found = await CheckAsync(tenantId, cancellationToken);
                if (found is not null)
                {
                    var outcome = await OutcomeAsync(found, repair, cancellationToken);
                    summary.Add(outcome);
                    await report(outcome, cancellationToken);
                }

                after = tenantId;
            }

            listed += page.Count;
            if (page.Count < wanted)
            {
                return summary;
            }
        }
    }

    /// <summary>Checks one tenant and, with <paramref name="repair"/>, mends its Redis drift; null when there is no such tenant.</summary>
    public async Task<TenantOutcome?> RunOneAsync(string tenantId, bool repair, CancellationToken cancellationToken)
    {
        var found = await CheckAsync(tenantId, cancellationToken);
        return found is null ? null : await OutcomeAsync(found, repair, cancellationToken);
    }

    /// <summary>
    /// Rebuilds the tenant's Redis state from the ledger: writes its pending settlements to the ledger first (as the
    /// sweeper does, so that work Redis applied and no one acknowledged yet is not dropped), then drops the state if
    /// it is still the epoch that was read, then rebuilds it. Safe under traffic: see docs/charging.md.
    /// </summary>
    public async Task<RepairResult> RepairAsync(string tenantId, CancellationToken cancellationToken)
    {
        var redis = await ReadRedisAsync(tenantId, cancellationToken);
        if (redis is null)
        {
            return new RepairResult(Rebuilt: false, SettlementsWritten: 0, "Redis holds no state for the tenant; the next request rebuilds it");
        }

        if (redis.Pending is null)
        {
            return new RepairResult(false, 0, Invariant($"{redis.PendingCount} pending settlements, more than Reconciliation:MaxPendingSettlements: not repaired"));
        }

        var settlements = new List<Settlement>(redis.Pending.Count);
        foreach (var encoded in redis.Pending)
        {
            if (!TryDecode(tenantId, encoded, out var settlement))
            {
                return new RepairResult(false, 0, $"a pending settlement in {HotStateKeys.Pending(tenantId)} cannot be read: not repaired (the rebuild would drop it)");
            }

            settlements.Add(settlement);
        }

        var outcomes = await Task.WhenAll(settlements.Select(settlement => writer.WriteAsync(settlement, cancellationToken)));
        var epoch = redis.Epoch.ToString(CultureInfo.InvariantCulture);
        await hotStore.RunAsync(HotScriptName.InvalidateAccount, [HotStateKeys.Account(tenantId)], [epoch], cancellationToken);
        await loader.EnsureLoadedAsync(tenantId, cancellationToken);
        var written = outcomes.Count(outcome => outcome == SettlementOutcome.Committed);
        LogRepaired(logger, tenantId, redis.Epoch, written);
        return new RepairResult(true, written, Invariant($"wrote {written} pending settlements to the ledger, rebuilt Redis from the ledger"));
    }

    private async Task<TenantOutcome> OutcomeAsync(TenantReconciliation found, bool repair, CancellationToken cancellationToken)
    {
        var redisDrift = found.Drift & TenantReconciliation.RepairableByRebuild;
        if (!repair || redisDrift == DriftKinds.None)
        {
            return new TenantOutcome(found, null, null);
        }

        if (found.Drift.HasFlag(DriftKinds.LedgerLots))
        {
            // The rebuild loads the ledger's lots, and refuses lots that hold less than the balance.
            return new TenantOutcome(found, new RepairResult(false, 0, "the ledger's lots hold less than its balance, so Redis cannot be rebuilt from it: not repaired"), null);
        }

        var repaired = await RepairAsync(found.TenantId, cancellationToken);
        var after = repaired.Rebuilt ? await CheckAsync(found.TenantId, cancellationToken) : null;
        return new TenantOutcome(found, repaired, after);
    }

    /// <summary>One check, without the confirming second one (tests use it to see every race).</summary>
    internal async Task<TenantReconciliation?> CheckOnceAsync(string tenantId, CancellationToken cancellationToken)
    {
        var redis = await ReadRedisAsync(tenantId, cancellationToken);
        var pending = new List<Settlement>();
        var unreadable = 0;
        foreach (var encoded in redis?.Pending ?? [])
        {
            if (!TryDecode(tenantId, encoded, out var settlement))
            {
                unreadable++;
            }
            else if (settlement.Epoch == redis!.Epoch && settlement.Entry is not null)
            {
                // Settlements of another epoch are in no balance: the ledger refuses them, a rebuild drops them.
                pending.Add(settlement);
            }
        }

        var ledger = await ReadLedgerAsync(tenantId, redis, pending, cancellationToken);
        if (ledger is null)
        {
            return null;
        }

        var notInLedger = new List<Settlement>();
        long pendingCallDebits = 0;
        for (var index = 0; index < pending.Count; index++)
        {
            if (ledger.PendingInLedger[index])
            {
                continue;
            }

            var entry = pending[index].Entry!;
            notInLedger.Add(pending[index]);
            if (entry.Kind == LedgerEntryKind.Debit && ledger.PendingHasCallRecord[index])
            {
                // The call's record is in the ledger already and counts this debit; the debit itself is on its way.
                pendingCallDebits -= entry.AmountMicros;
            }
        }

        var found = new TenantReconciliation
        {
            TenantId = tenantId,
            LedgerEpoch = ledger.Epoch,
            LedgerBalanceMicros = ledger.BalanceMicros,
            LedgerLotsMicros = ledger.LotsMicros,
            Redis = redis,
            LedgerAtRedisSnapshotMicros = ledger.BalanceAtSnapshotMicros,
            PendingNotInLedgerCount = notInLedger.Count,
            PendingNotInLedgerMicros = notInLedger.Sum(settlement => settlement.Entry!.AmountMicros),
            UnreadablePendingCount = unreadable,
            CallRecordCount = ledger.CallRecordCount,
            CallChargesMicros = ledger.CallChargesMicros,
            CallDebitsMicros = ledger.CallDebitsMicros + pendingCallDebits,
        };
        return found with { Drift = DriftOf(found) };
    }

    private static DriftKinds DriftOf(TenantReconciliation found)
    {
        var drift = DriftKinds.None;
        if (found.LedgerLotsMicros < found.LedgerBalanceMicros)
        {
            drift |= DriftKinds.LedgerLots;
        }

        if (found.CallDifferenceMicros != 0)
        {
            drift |= DriftKinds.CallRecords;
        }

        if (found.Redis is not { } redis)
        {
            return drift;
        }

        if (redis.Epoch != found.LedgerEpoch)
        {
            drift |= DriftKinds.Epoch;
        }

        if (redis.BalanceMicros is null || redis.HeldMicros is null || redis.LotsMicros is null || redis.Pending is null || found.UnreadablePendingCount > 0)
        {
            drift |= DriftKinds.Unreadable;
        }

        if (redis.BalanceMicros is not null && found.BalanceDifferenceMicros != 0)
        {
            drift |= DriftKinds.Balance;
        }

        if (redis.BalanceMicros is { } redisBalance && redis.LotsMicros is { } lots && lots != redisBalance)
        {
            drift |= DriftKinds.RedisLots;
        }

        return drift;
    }

    /// <summary>Redis's snapshot of the tenant; null when Redis holds no state for it.</summary>
    private async Task<RedisSnapshot?> ReadRedisAsync(string tenantId, CancellationToken cancellationToken)
    {
        var reply = await hotStore.RunAsync(
            HotScriptName.ReconcileSnapshot,
            [HotStateKeys.Account(tenantId), HotStateKeys.Lots(tenantId), HotStateKeys.Pending(tenantId)],
            [settings.MaxPendingSettlements.ToString(CultureInfo.InvariantCulture)],
            cancellationToken);
        if (string.Equals(reply[0], HotState.NotLoaded, StringComparison.Ordinal))
        {
            return null;
        }

        var pendingCount = Netstrings.ParseInteger(reply[7]!);
        var pending = pendingCount <= settings.MaxPendingSettlements ? reply[8..].Select(value => value ?? string.Empty).ToList() : null;
        return new RedisSnapshot(
            Netstrings.ParseInteger(reply[1]!), Number(reply[2]), Number(reply[3]), Number(reply[4]) ?? 0, Number(reply[5]), pendingCount, pending);
    }

    private static long? Number(string? text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;

    private const string LedgerSql =
        $"""
        SELECT hot_epoch FROM tenants WHERE tenant_id = @tenant;
        SELECT l.total + cp.balance, l.at_snapshot + cp.balance
        FROM (SELECT coalesce(sum(amount_micros), 0)::bigint AS total,
                     coalesce(sum(amount_micros) FILTER (WHERE NOT (epoch = @epoch AND operation_number > @operationSequence)), 0)::bigint AS at_snapshot
              FROM ledger_entries WHERE tenant_id = @tenant) AS l,
             (SELECT {LedgerPartitions.CheckpointBalanceSql} AS balance) AS cp;
        SELECT (SELECT coalesce(sum(amount_micros), 0) FROM funding_lots WHERE tenant_id = @tenant)::bigint
             - (SELECT coalesce(sum(d.amount_micros), 0) FROM lot_draws d
                JOIN funding_lots l ON l.tenant_id = d.tenant_id AND l.epoch = d.lot_epoch AND l.operation_number = d.lot_operation_number
                WHERE d.tenant_id = @tenant)::bigint;
        SELECT (SELECT count(*) FROM call_records WHERE tenant_id = @tenant)::bigint + coalesce(cp.call_record_count, 0),
               (SELECT coalesce(sum(charge_micros), 0) FROM call_records WHERE tenant_id = @tenant)::bigint + coalesce(cp.call_charges_micros, 0)
        FROM (SELECT 1) AS one LEFT JOIN ledger_checkpoints cp ON cp.tenant_id = @tenant;
        SELECT (SELECT coalesce(-sum(e.amount_micros), 0)
                FROM ledger_entries e
                JOIN call_records c ON c.tenant_id = e.tenant_id AND c.epoch = e.session_epoch AND c.session_number = e.session_number
                WHERE e.tenant_id = @tenant AND e.kind = 2)::bigint
             + coalesce((SELECT call_debits_micros FROM ledger_checkpoints WHERE tenant_id = @tenant), 0);
        SELECT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.tenant_id = @tenant AND e.epoch = @epoch AND e.operation_number = p.operation),
               EXISTS (SELECT 1 FROM call_records c WHERE c.tenant_id = @tenant AND c.epoch = p.session_epoch AND c.session_number = p.session_number)
        FROM unnest(@operations, @sessionEpochs, @sessionNumbers) WITH ORDINALITY AS p(operation, session_epoch, session_number, position)
        ORDER BY p.position;
        """;

    /// <summary>
    /// The ledger's side, all from one PostgreSQL snapshot (REPEATABLE READ); null when there is no such tenant. The
    /// LOCK TABLE comes before the snapshot (it takes none), so a detach of old months (LedgerPartitions) is either wholly
    /// before it, its rows in the checkpoint, or wholly after it; the sums add the checkpoint to the attached rows.
    /// </summary>
    private async Task<LedgerSide?> ReadLedgerAsync(string tenantId, RedisSnapshot? redis, List<Settlement> pending, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var parameters = new
        {
            tenant = tenantId,
            // Without Redis state there is no snapshot to line up with: count every entry (no epoch is -1).
            epoch = redis?.Epoch ?? -1,
            operationSequence = redis?.OperationSequence ?? 0,
            operations = pending.Select(settlement => settlement.OperationNumber).ToArray(),
            sessionEpochs = pending.Select(settlement => settlement.SessionEpoch).ToArray(),
            sessionNumbers = pending.Select(settlement => settlement.Entry!.SessionNumber ?? 0).ToArray(),
        };
        await connection.ExecuteAsync(new CommandDefinition(
            "LOCK TABLE ledger_entries, call_records, ledger_checkpoints IN ACCESS SHARE MODE", transaction: transaction, cancellationToken: cancellationToken));
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(LedgerSql, parameters, transaction, cancellationToken: cancellationToken));
        var epoch = await results.ReadSingleOrDefaultAsync<long?>();
        var (balance, atSnapshot) = await results.ReadSingleAsync<(long, long)>();
        var lots = await results.ReadSingleAsync<long>();
        var (callCount, callCharges) = await results.ReadSingleAsync<(long, long)>();
        var callDebits = await results.ReadSingleAsync<long>();
        var flags = (await results.ReadAsync<(bool InLedger, bool HasCallRecord)>()).AsList();
        await transaction.CommitAsync(cancellationToken);
        if (flags.Count != pending.Count)
        {
            throw new InvalidOperationException($"the ledger answered for {flags.Count} pending settlements of tenant {tenantId}, not {pending.Count}");
        }

        if (epoch is not { } ledgerEpoch)
        {
            return null;
        }

        return new LedgerSide(
            ledgerEpoch, balance, atSnapshot, lots, callCount, callCharges, callDebits,
            [.. flags.Select(flag => flag.InLedger)], [.. flags.Select(flag => flag.HasCallRecord)]);
    }

    private bool TryDecode(string tenantId, string encoded, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Settlement? settlement)
    {
        try
        {
            settlement = SettlementCodec.Decode(tenantId, encoded);
            return true;
        }
        catch (FormatException exception)
        {
            LogUnreadable(logger, exception, tenantId);
            settlement = null;
            return false;
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Repaired tenant {TenantId}: wrote {Written} pending settlements to the ledger and rebuilt Redis (was epoch {Epoch}) from the ledger")]
    private static partial void LogRepaired(ILogger logger, string tenantId, long epoch, int written);

    [LoggerMessage(Level = LogLevel.Error, Message = "A pending settlement of tenant {TenantId} cannot be read")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string tenantId);

    private sealed record LedgerSide(
        long Epoch, long BalanceMicros, long BalanceAtSnapshotMicros, long LotsMicros, long CallRecordCount, long CallChargesMicros, long CallDebitsMicros,
        bool[] PendingInLedger, bool[] PendingHasCallRecord);
}

/// <summary>What a repair did.</summary>
/// <param name="Rebuilt">Whether Redis was rebuilt from the ledger.</param>
/// <param name="SettlementsWritten">Pending settlements the ledger took before the rebuild.</param>
/// <param name="Message">What happened, in words.</param>
public sealed record RepairResult(bool Rebuilt, int SettlementsWritten, string Message);

/// <summary>One tenant's reconciliation, and, when it was repaired, what the repair did and the check after it.</summary>
public sealed record TenantOutcome(TenantReconciliation Found, RepairResult? Repair, TenantReconciliation? After);

/// <summary>The counts of one run over the tenants.</summary>
public sealed class ReconciliationSummary
{
    public int Tenants { get; private set; }

    public int Drifted { get; private set; }

    public int Repaired { get; private set; }

    /// <summary>Set when the run stopped at Reconciliation:TenantsPerRun: the last tenant checked, where the next run goes on.</summary>
    public string? LastTenantId { get; set; }

    public void Add(TenantOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        Tenants++;
        Drifted += outcome.Found.Drift == DriftKinds.None ? 0 : 1;
        Repaired += outcome.Repair?.Rebuilt == true ? 1 : 0;
    }
}
