namespace CommsCredits.Gateway.Balances;

using System.Globalization;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

/// <summary>
/// Rebuilds a tenant's hot state in Redis from the ledger when Redis does not have it (a new or restarted Redis, a
/// tenant never served before). Under the exclusive rebuild lock (<see cref="LedgerLocks"/>) it gives the tenant a new
/// epoch, sums its ledger, and installs that balance with no holds, unless another gateway got there first. Settlements
/// applied under the old epoch are then refused by the ledger, so the rebuilt balance is exact.
/// </summary>
public sealed partial class HotStateLoader(NpgsqlDataSource dataSource, IHotStore hotStore, TimeProvider timeProvider, ILogger<HotStateLoader> logger)
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(15);
    private readonly SingleFlight<bool> loading = new();

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
            return await LoadAsync(tenantId, timeout.Token);
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
        await using (var lockCommand = new NpgsqlCommand("SET LOCAL lock_timeout = '10s'; SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", LedgerLocks.HotStateRebuildKey);
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
        await using (var sum = new NpgsqlCommand(
            "SELECT coalesce(sum(amount_micros), 0)::bigint FROM ledger_entries WHERE tenant_id = @tenant", connection, transaction))
        {
            sum.Parameters.AddWithValue("tenant", tenantId);
            balance = (long)(await sum.ExecuteScalarAsync(cancellationToken))!;
        }

        var lots = FitLotsToBalance(tenantId, await ReadLotsAsync(connection, transaction, tenantId, cancellationToken), balance);
        var now = timeProvider.GetUtcNow();
        var arguments = new List<string>
        {
            epoch.ToString(CultureInfo.InvariantCulture), balance.ToString(CultureInfo.InvariantCulture), SettlementCodec.FormatMonth(now),
            lots.Count.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var lot in lots)
        {
            arguments.Add(lot.Id.ToString());
            arguments.Add(lot.RemainingMicros.ToString(CultureInfo.InvariantCulture));
            arguments.Add(lot.ExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        }

        foreach (var (poolId, seconds) in await ReadPoolUseAsync(connection, transaction, tenantId, now, cancellationToken))
        {
            arguments.Add(poolId);
            arguments.Add(seconds.ToString(CultureInfo.InvariantCulture));
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
        LogLoaded(logger, tenantId, epoch, balance);
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
    private static async Task<List<(string PoolId, long Seconds)>> ReadPoolUseAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT pool_id, sum(seconds)::bigint FROM pool_usage WHERE tenant_id = @tenant AND month = @month GROUP BY pool_id",
            connection,
            transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("month", new DateOnly(now.UtcDateTime.Year, now.UtcDateTime.Month, 1));
        var pools = new List<(string, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pools.Add((reader.GetString(0), reader.GetInt64(1)));
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilt the hot state of tenant {TenantId} from the ledger: epoch {Epoch}, balance {BalanceMicros} micros")]
    private static partial void LogLoaded(ILogger logger, string tenantId, long epoch, long balanceMicros);
}
