namespace CommsCredits.Gateway.Ledger;

using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

/// <summary>
/// Finds settlements that a script applied in Redis but that never reached the ledger, because the gateway that ran
/// the script died (or lost PostgreSQL) before its commit and the client did not retry. It writes them, so Redis and
/// the ledger agree again. Writing a settlement twice changes nothing, so several gateways may sweep at once.
/// </summary>
public sealed partial class PendingSettlementSweeper(
    IHotStore hotStore,
    PendingSettlements pending,
    SettlementWriter writer,
    IOptions<SettlementOptions> options,
    TimeProvider timeProvider,
    ILogger<PendingSettlementSweeper> logger) : BackgroundService
{
    private readonly SettlementOptions settings = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.SweepIntervalSeconds), timeProvider);
        while (await timer.TickOrStopAsync(stoppingToken))
        {
            try
            {
                var written = await SweepOnceAsync(stoppingToken);
                if (written > 0)
                {
                    LogSwept(logger, written);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StorageUnavailableException exception)
            {
                LogSweepFailed(logger, exception);
            }
        }
    }

    /// <summary>
    /// Writes the pending settlements older than Settlement:SweepMinimumAgeSeconds; returns how many. One sweep reads at
    /// most Settlement:MaxSweepSettlements of them, young ones included (those are being written by their own request).
    /// </summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow().AddSeconds(-settings.SweepMinimumAgeSeconds);
        var pendingNow = await pending.ReadAsync(settings.MaxSweepSettlements, cancellationToken);
        // A record that cannot be read is a bug (a script and the codec disagree). It must not stop the sweep of every
        // other tenant's settlements: it is reported and left in Redis, untouched, for someone to look at.
        foreach (var unreadable in pendingNow.Unreadable)
        {
            LogUnreadable(logger, unreadable.Error, unreadable.Key);
        }

        var settlements = pendingNow.Settlements.Where(settlement => settlement.OccurredAt <= cutoff).ToList();
        var outcomes = await Task.WhenAll(settlements.Select(settlement => writer.WriteAsync(settlement, cancellationToken)));
        for (var index = 0; index < outcomes.Length; index++)
        {
            if (outcomes[index] == SettlementOutcome.StaleEpoch)
            {
                await DiscardStaleAsync(settlements[index], cancellationToken);
            }
        }

        return settlements.Count;
    }

    /// <summary>
    /// A settlement of an epoch the ledger has left can never be written. If Redis still serves that epoch, its state is
    /// not the ledger's: drop it so that it is rebuilt. Either way the settlement goes.
    /// </summary>
    private async Task DiscardStaleAsync(Settlement settlement, CancellationToken cancellationToken)
    {
        var epoch = settlement.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await hotStore.RunAsync(HotScriptName.InvalidateAccount, [HotStateKeys.Account(settlement.TenantId)], [epoch], cancellationToken);
        var field = settlement.OperationNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await hotStore.DeleteHashFieldsAsync(HotStateKeys.Pending(settlement.TenantId), [field], cancellationToken);
        LogDiscarded(logger, settlement.TenantId, settlement.Epoch, settlement.OperationNumber);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Wrote {Count} settlements that were left pending in Redis")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discarded settlement {Operation} of tenant {TenantId}: its epoch {Epoch} is no longer the ledger's")]
    private static partial void LogDiscarded(ILogger logger, string tenantId, long epoch, long operation);

    [LoggerMessage(Level = LogLevel.Error, Message = "A pending settlement in {Key} cannot be read; it is left in Redis and skipped")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A sweep of pending settlements failed; the next one retries")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
