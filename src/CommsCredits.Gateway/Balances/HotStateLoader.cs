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
public sealed partial class HotStateLoader(NpgsqlDataSource dataSource, IHotStore hotStore, ILogger<HotStateLoader> logger)
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

        var reply = await hotStore.RunAsync(
            HotScriptName.LoadAccount,
            [HotStateKeys.Account(tenantId), HotStateKeys.Pending(tenantId)],
            [epoch.ToString(CultureInfo.InvariantCulture), balance.ToString(CultureInfo.InvariantCulture)],
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilt the hot state of tenant {TenantId} from the ledger: epoch {Epoch}, balance {BalanceMicros} micros")]
    private static partial void LogLoaded(ILogger logger, string tenantId, long epoch, long balanceMicros);
}
