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
/// its session-deadlines set from Redis, a few tenants at a time, and sets the sums (money held per account currency:
/// micro-units of different currencies are not added). A scrape reads the last sums,
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

    /// <summary>Currencies whose held gauge has been set: one that no tenant has any more is set to 0, not left as it was.</summary>
    private readonly HashSet<string> currenciesShown = new(StringComparer.Ordinal);

    /// <summary>One round over up to Operations:MaxTenantsPerGaugeRefresh tenants; rounds run one after another.</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        long sessions = 0;
        var heldMicros = new Dictionary<string, long>(StringComparer.Ordinal);
        var accounts = await tenants.ListAllCurrenciesAsync(TenantsPerPage, settings.MaxTenantsPerGaugeRefresh, cancellationToken);
        foreach (var chunk in accounts.Chunk(TenantsAtOnce))
        {
            var read = await Task.WhenAll(chunk.Select(account => ReadTenantAsync(account.TenantId, cancellationToken)));
            for (var index = 0; index < chunk.Length; index++)
            {
                sessions += read[index].Sessions;
                heldMicros[chunk[index].Currency] = heldMicros.GetValueOrDefault(chunk[index].Currency) + read[index].HeldMicros;
            }
        }

        metrics.SessionsActive.Set(sessions);
        currenciesShown.UnionWith(heldMicros.Keys);
        foreach (var currency in currenciesShown)
        {
            metrics.HeldMicros.WithLabels(currency).Set(heldMicros.GetValueOrDefault(currency));
        }
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
