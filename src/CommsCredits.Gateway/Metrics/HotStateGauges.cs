namespace CommsCredits.Gateway.Metrics;

using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Operations;
using CommsCredits.Gateway.Tenants;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

/// <summary>
/// Refreshes commscredits_sessions_active and commscredits_held_micros every Operations:GaugeRefreshSeconds: walks the
/// tenants in id order (at most Operations:MaxTenantsPerGaugeRefresh), reads each one's held amount and the size of
/// its session-deadlines set from Redis, a few tenants at a time, and sets the sums. A scrape reads the last sums,
/// so its cost does not grow with the tenants; a round that fails leaves the previous values.
/// </summary>
public sealed partial class HotStateGauges(
    TenantRepository tenants, IHotStore hotStore, GatewayMetrics metrics, IOptions<OperationsOptions> options, TimeProvider timeProvider, ILogger<HotStateGauges> logger)
    : BackgroundService
{
    private const int TenantsPerPage = 500;
    private const int TenantsAtOnce = 32;

    private readonly OperationsOptions settings = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!settings.Enabled)
        {
            return;
        }

        // A first round at once, so a gateway's first scrapes do not show zero for a whole interval.
        await RunRoundAsync(stoppingToken);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.GaugeRefreshSeconds), timeProvider);
        while (await timer.TickOrStopAsync(stoppingToken))
        {
            await RunRoundAsync(stoppingToken);
        }
    }

    private async Task RunRoundAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RefreshAsync(stoppingToken);
        }
#pragma warning disable CA1031 // A gauge that cannot be refreshed must never stop the gateway: any failure keeps the last values.
        catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            LogRefreshFailed(logger, exception);
        }
    }

    /// <summary>One round over up to Operations:MaxTenantsPerGaugeRefresh tenants.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        long sessions = 0;
        long heldMicros = 0;
        var tenantIds = await tenants.ListAllIdsAsync(TenantsPerPage, settings.MaxTenantsPerGaugeRefresh, cancellationToken);
        foreach (var chunk in tenantIds.Chunk(TenantsAtOnce))
        {
            foreach (var (tenantSessions, tenantHeld) in await Task.WhenAll(chunk.Select(tenantId => ReadTenantAsync(tenantId, cancellationToken))))
            {
                sessions += tenantSessions;
                heldMicros += tenantHeld;
            }
        }

        metrics.SessionsActive.Set(sessions);
        metrics.HeldMicros.Set(heldMicros);
    }

    private async Task<(long Sessions, long HeldMicros)> ReadTenantAsync(string tenantId, CancellationToken cancellationToken)
    {
        var held = await hotStore.ReadHashAsync(HotStateKeys.Account(tenantId), ["held"], cancellationToken);
        var sessions = await hotStore.SortedSetLengthAsync(HotStateKeys.SessionDeadlines(tenantId), cancellationToken);
        return (sessions, held[0] is { } text ? Netstrings.ParseInteger(text) : 0);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The gauges of open sessions and money held could not be refreshed; they keep their last values")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
