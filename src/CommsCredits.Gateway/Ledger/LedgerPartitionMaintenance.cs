namespace CommsCredits.Gateway.Ledger;

using CommsCredits.Gateway.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

/// <summary>
/// Keeps the monthly partitions of the current month and Ledger:PartitionMonthsAhead months after it created: at once when
/// the process starts, then every Ledger:PartitionMaintenanceIntervalMinutes. Every gateway and worker runs it; creating a
/// month that exists does nothing, so they need no coordination beyond the function's own lock.
/// </summary>
public sealed partial class LedgerPartitionMaintenance(
    LedgerPartitions partitions, IOptions<LedgerOptions> options, TimeProvider timeProvider, ILogger<LedgerPartitionMaintenance> logger) : BackgroundService
{
    private readonly TimeSpan interval = TimeSpan.FromMinutes(options.Value.PartitionMaintenanceIntervalMinutes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await EnsureOrReportAsync(stoppingToken);
        await PeriodicTimerExtensions.RunPeriodicallyAsync(
            interval, timeProvider, partitions.EnsureAheadAsync, exception => LogFailed(logger, exception), stoppingToken);
    }

    private async Task EnsureOrReportAsync(CancellationToken stoppingToken)
    {
        try
        {
            await partitions.EnsureAheadAsync(stoppingToken);
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
        {
            // The ledger writer creates a missing month itself; the next round tries again.
            LogFailed(logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Creating the monthly ledger partitions ahead failed; the next round retries")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
