namespace CommsCredits.Gateway.Funding;

using System.Globalization;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Storage;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Forfeits the money left in expired funding lots, on a schedule: the ledger names the tenants with expired lots
/// that still hold money, and expire_lots.lua forfeits, in one ledger entry of kind Expiry per tenant and run, what
/// holds granted before the expiry do not need. A run changes nothing that an earlier run already forfeited, so it is
/// safe to run twice, and on several gateways at once.
/// </summary>
public sealed partial class FundingExpiryJob(
    NpgsqlDataSource dataSource,
    HotState hotState,
    IOptions<FundingOptions> options,
    TimeProvider timeProvider,
    ILogger<FundingExpiryJob> logger) : BackgroundService
{
    private readonly FundingOptions settings = options.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicTimerExtensions.RunPeriodicallyAsync(
            TimeSpan.FromSeconds(settings.ExpiryIntervalSeconds), timeProvider, RunOnceAsync, exception => LogRunFailed(logger, exception), stoppingToken);

    /// <summary>One run over the tenants with expired lots; returns the micros forfeited in all.</summary>
    public async Task<long> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        long forfeited = 0;
        foreach (var tenantId in await TenantsWithExpiredLotsAsync(now, cancellationToken))
        {
            forfeited += await ExpireTenantAsync(tenantId, now, cancellationToken);
        }

        return forfeited;
    }

    /// <summary>Forfeits what one tenant's lots expired by <paramref name="now"/> hold; returns the micros forfeited.</summary>
    public async Task<long> ExpireTenantAsync(string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string[] keys = [HotStateKeys.Account(tenantId), HotStateKeys.Pending(tenantId), HotStateKeys.Lots(tenantId), HotStateKeys.LotExpiry(tenantId)];
        var nowMs = now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var reply = await hotState.RunAsync(tenantId, HotScriptName.ExpireLots, keys, [nowMs], cancellationToken);
        if (reply is null || string.Equals(reply[0], "nothing", StringComparison.Ordinal))
        {
            return 0;
        }

        await hotState.SettleAsync(tenantId, reply[2], cancellationToken);
        var forfeitedMicros = Netstrings.ParseInteger(reply[1]!);
        LogForfeited(logger, tenantId, forfeitedMicros);
        return forfeitedMicros;
    }

    private async Task<IReadOnlyList<string>> TenantsWithExpiredLotsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var tenants = await connection.QueryAsync<string>(new CommandDefinition(
            """
            SELECT l.tenant_id
            FROM funding_lots l
            WHERE l.expires_at <= @now AND l.expires_at > @since
              AND l.amount_micros > coalesce((SELECT sum(d.amount_micros) FROM lot_draws d
                                              WHERE d.tenant_id = l.tenant_id AND d.lot_epoch = l.epoch
                                                AND d.lot_operation_number = l.operation_number), 0)
            GROUP BY l.tenant_id
            ORDER BY min(l.expires_at), l.tenant_id
            LIMIT @limit
            """,
            new { now, since = now.AddDays(-settings.ExpiryLookbackDays), limit = settings.ExpiryTenantsPerRun },
            cancellationToken: cancellationToken));
        return tenants.AsList();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId}: {ForfeitedMicros} micros of expired funding lots forfeited")]
    private static partial void LogForfeited(ILogger logger, string tenantId, long forfeitedMicros);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The funding expiry run failed; the next run retries")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}
