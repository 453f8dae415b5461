namespace CommsCredits.Gateway.Balances;

using System.Diagnostics;
using CommsCredits.Gateway.Metrics;
using System.Globalization;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Rebuilds a tenant's hot state in Redis from the ledger when Redis does not have it (a new or restarted Redis, a
/// tenant never served before). Under the tenant's exclusive rebuild lock (<see cref="LedgerLocks"/>) it gives the tenant a new
/// epoch, sums its ledger (the checkpoint of detached months, LedgerPartitions, and the attached entries), restores its sessions in progress from the session journal (with their holds, pool
/// allotments and answers), and installs that balance, unless another gateway got there first. Settlements applied
/// under the old epoch are then refused by the ledger, so the rebuilt balance is exact.
/// </summary>
public sealed partial class HotStateLoader(
    NpgsqlDataSource dataSource, IHotStore hotStore, IOptions<ChargingOptions> chargingOptions, TimeProvider timeProvider, ILogger<HotStateLoader> logger,
    GatewayMetrics? metrics = null)
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Most script arguments in one chunk of restored sessions (a session with many answers is a chunk of its own).</summary>
    private const int MaxRestoreArgumentsPerChunk = 20_000;

    private readonly int maxOpenSessions = chargingOptions.Value.MaxOpenSessionsPerTenant;
    private readonly SingleFlight<bool> loading = new();
    private readonly Histogram? rebuildDuration = metrics?.PostgresOperation("rebuild");

    /// <summary>Makes sure Redis holds the tenant's state. False when the tenant does not exist.</summary>
    public Task<bool> EnsureLoadedAsync(string tenantId, CancellationToken cancellationToken)
    {
        // Concurrent requests of one tenant share one rebuild, which no single request's cancellation stops.
        return loading.RunAsync(tenantId, LoadWithTimeoutAsync).WaitAsync(cancellationToken);
    }

    private async Task<bool> LoadWithTimeoutAsync(string tenantId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(LoadTimeout);
            var started = Stopwatch.GetTimestamp();
            try
            {
                return await LoadAsync(tenantId, timeout.Token);
            }
            finally
            {
                rebuildDuration?.ObserveSince(started);
            }
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            throw new StorageUnavailableException($"could not rebuild the hot state of tenant {tenantId} from the ledger: {exception.Message}", exception);
        }
    }

    private async Task<bool> LoadAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SET LOCAL lock_timeout = '10s'; " + LedgerLocks.TakeTenantSql, connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("lock_class", LedgerLocks.HotStateRebuildClass);
            lockCommand.Parameters.AddWithValue("tenant", tenantId);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        long epoch;
        await using (var advance = new NpgsqlCommand(
            "UPDATE tenants SET hot_epoch = nextval('hot_epochs') WHERE tenant_id = @tenant RETURNING hot_epoch", connection, transaction))
        {
            advance.Parameters.AddWithValue("tenant", tenantId);
            if (await advance.ExecuteScalarAsync(cancellationToken) is not long advanced)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }

            epoch = advanced;
        }

        long balance;
        // The detached months' checkpoint and the attached entries, in one statement: its snapshot is taken after it has
        // the lock of ledger_entries, which a detach holds exclusively until its checkpoint is committed.
        await using (var sum = new NpgsqlCommand(
            $"""
            SELECT ((SELECT coalesce(sum(amount_micros), 0) FROM ledger_entries WHERE tenant_id = @tenant)
                    + {LedgerPartitions.CheckpointBalanceSql})::bigint
            """,
            connection,
            transaction))
        {
            sum.Parameters.AddWithValue("tenant", tenantId);
            balance = (long)(await sum.ExecuteScalarAsync(cancellationToken))!;
        }

        var lots = FitLotsToBalance(tenantId, await ReadLotsAsync(connection, transaction, tenantId, cancellationToken), balance);
        var now = timeProvider.GetUtcNow();
        var sessions = await ReadSessionsAsync(connection, transaction, tenantId, balance, cancellationToken);
        if (!await RestoreSessionsAsync(tenantId, epoch, sessions, cancellationToken))
        {
            // Another gateway rebuilt it between our request's miss and our lock: keep its epoch.
            await transaction.RollbackAsync(cancellationToken);
            return true;
        }

        long held = 0;
        var poolsHeld = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var session in sessions)
        {
            held += session.HoldMicros;
            if (session.PoolId.Length > 0)
            {
                poolsHeld[session.PoolId] = poolsHeld.GetValueOrDefault(session.PoolId) + session.PoolSecondsHeld;
            }
        }

        var arguments = new List<string>
        {
            epoch.ToString(CultureInfo.InvariantCulture), balance.ToString(CultureInfo.InvariantCulture), SettlementCodec.FormatMonth(now),
            lots.Count.ToString(CultureInfo.InvariantCulture), held.ToString(CultureInfo.InvariantCulture), await hotStore.IncarnationAsync(cancellationToken),
        };
        foreach (var lot in lots)
        {
            arguments.Add(lot.Id.ToString());
            arguments.Add(lot.RemainingMicros.ToString(CultureInfo.InvariantCulture));
            arguments.Add(lot.ExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        }

        var poolsUsed = await ReadPoolUseAsync(connection, transaction, tenantId, now, cancellationToken);
        foreach (var poolId in poolsUsed.Keys.Union(poolsHeld.Keys, StringComparer.Ordinal))
        {
            arguments.Add(poolId);
            arguments.Add(poolsUsed.GetValueOrDefault(poolId).ToString(CultureInfo.InvariantCulture));
            arguments.Add(poolsHeld.GetValueOrDefault(poolId).ToString(CultureInfo.InvariantCulture));
        }

        var reply = await hotStore.RunAsync(
            HotScriptName.LoadAccount,
            [HotStateKeys.Account(tenantId), HotStateKeys.Pending(tenantId), HotStateKeys.Lots(tenantId), HotStateKeys.LotExpiry(tenantId)],
            [.. arguments],
            cancellationToken);
        if (string.Equals(reply[0], "present", StringComparison.Ordinal))
        {
            // Another gateway rebuilt it between our request's miss and our lock: keep its epoch.
            await transaction.RollbackAsync(cancellationToken);
            return true;
        }

        await transaction.CommitAsync(cancellationToken);
        LogLoaded(logger, tenantId, epoch, balance, sessions.Count, held);
        return true;
    }

    /// <summary>
    /// The tenant's sessions in progress from the session journal, their holds lowered where the rebuilt balance no
    /// longer has the money (a funding the lost Redis had applied was never acknowledged, so the ledger lacks it).
    /// </summary>
    private async Task<List<RestoredSession>> ReadSessionsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, long balanceMicros, CancellationToken cancellationToken)
    {
        var found = await RestoredSession.ReadAsync(connection, transaction, tenantId, maxOpenSessions, cancellationToken);
        var sessions = new List<RestoredSession>(found.Count);
        long held = 0;
        foreach (var session in found)
        {
            if (!session.HasOpening)
            {
                // Its Reserve was answered while the ledger was down and its opening was lost with Redis: its next
                // request gets UNKNOWN_SESSION_ID, as it would have before the session journal.
                LogOpeningMissing(logger, tenantId, session.SessionId);
                continue;
            }

            session.CapHold(balanceMicros - held);
            held += session.HoldMicros;
            sessions.Add(session);
        }

        return sessions;
    }

    /// <summary>Writes the restored sessions into Redis in chunks; false when another gateway's state is there already.</summary>
    private async Task<bool> RestoreSessionsAsync(string tenantId, long epoch, List<RestoredSession> sessions, CancellationToken cancellationToken)
    {
        var index = 0;
        while (index < sessions.Count)
        {
            var keys = new List<string> { HotStateKeys.Account(tenantId), HotStateKeys.SessionDeadlines(tenantId) };
            var arguments = new List<string>();
            while (index < sessions.Count && (keys.Count == 2 || arguments.Count < MaxRestoreArgumentsPerChunk))
            {
                var session = sessions[index++];
                var fields = session.HashFields(epoch);
                keys.Add(HotStateKeys.Session(tenantId, session.SessionId));
                arguments.Add(session.SessionId);
                arguments.Add(session.DeadlineAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
                arguments.Add((fields.Count / 2).ToString(CultureInfo.InvariantCulture));
                arguments.AddRange(fields);
            }

            var reply = await hotStore.RunAsync(HotScriptName.RestoreSessions, [.. keys], [.. arguments], cancellationToken);
            if (string.Equals(reply[0], "present", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The tenant's lots with money left, earliest expiry first, as the ledger's lots and draws say.</summary>
    private static async Task<List<LoadedLot>> ReadLotsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT l.epoch, l.operation_number, l.expires_at, l.amount_micros - coalesce(d.taken, 0) AS remaining
            FROM funding_lots l
            LEFT JOIN (SELECT lot_epoch, lot_operation_number, sum(amount_micros)::bigint AS taken
                       FROM lot_draws WHERE tenant_id = @tenant GROUP BY lot_epoch, lot_operation_number) d
                   ON d.lot_epoch = l.epoch AND d.lot_operation_number = l.operation_number
            WHERE l.tenant_id = @tenant AND l.amount_micros - coalesce(d.taken, 0) <> 0
            ORDER BY l.expires_at, l.epoch, l.operation_number
            """,
            connection,
            transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        var lots = new List<LoadedLot>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var lot = new LoadedLot(new EntryKey(reader.GetInt64(0), reader.GetInt64(1)), reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt64(3));
            if (lot.RemainingMicros < 0)
            {
                throw new InvalidOperationException($"lot {lot.Id} of tenant {tenantId} has been drawn {-lot.RemainingMicros} micros beyond its amount");
            }

            lots.Add(lot);
        }

        return lots;
    }

    /// <summary>Seconds used this month (UTC) of each of the tenant's pools, as the ledger's pool usage says.</summary>
    private static async Task<Dictionary<string, long>> ReadPoolUseAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT pool_id, sum(seconds)::bigint FROM pool_usage WHERE tenant_id = @tenant AND month = @month GROUP BY pool_id",
            connection,
            transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("month", new DateOnly(now.UtcDateTime.Year, now.UtcDateTime.Month, 1));
        var pools = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pools[reader.GetString(0)] = reader.GetInt64(1);
        }

        return pools;
    }

    /// <summary>
    /// Makes the lots add up to the ledger balance. They do, unless a debit drew on a lot whose funding never reached
    /// the ledger: batches commit concurrently, so a debit can commit just before the funding it drew on, and if the
    /// hot state is rebuilt in between, the funding is refused (its request was never acknowledged; the caller
    /// retries it and funds a new lot). That debit's draw then names a lot the ledger does not hold; here it is taken
    /// from the earliest lots instead, the same way every time the tenant is rebuilt.
    /// </summary>
    private List<LoadedLot> FitLotsToBalance(string tenantId, List<LoadedLot> lots, long balanceMicros)
    {
        long remaining = 0;
        foreach (var lot in lots)
        {
            remaining = checked(remaining + lot.RemainingMicros);
        }

        if (remaining < balanceMicros)
        {
            throw new InvalidOperationException($"the lots of tenant {tenantId} hold {remaining} micros, less than its ledger balance {balanceMicros}");
        }

        var excess = remaining - balanceMicros;
        if (excess == 0)
        {
            return lots;
        }

        LogOrphanDraws(logger, tenantId, excess);
        var fitted = new List<LoadedLot>(lots.Count);
        foreach (var lot in lots)
        {
            var taken = Math.Min(excess, lot.RemainingMicros);
            excess -= taken;
            if (lot.RemainingMicros > taken)
            {
                fitted.Add(lot with { RemainingMicros = lot.RemainingMicros - taken });
            }
        }

        return fitted;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {TenantId}: {ExcessMicros} micros of debits drew on lots whose funding never reached the ledger; taken from the earliest lots")]
    private static partial void LogOrphanDraws(ILogger logger, string tenantId, long excessMicros);

    private sealed record LoadedLot(EntryKey Id, DateTimeOffset ExpiresAt, long RemainingMicros);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilt the hot state of tenant {TenantId} from the ledger: epoch {Epoch}, balance {BalanceMicros} micros, {Sessions} sessions in progress restored holding {HeldMicros} micros")]
    private static partial void LogLoaded(ILogger logger, string tenantId, long epoch, long balanceMicros, int sessions, long heldMicros);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {TenantId}: session {SessionId} has Updates in the session journal but no opening; it is not restored")]
    private static partial void LogOpeningMissing(ILogger logger, string tenantId, string sessionId);
}
