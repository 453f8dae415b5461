namespace CommsCredits.Gateway.Reconciliation;

using CommsCredits.Gateway.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

/// <summary>
/// Reconciles every tenant every Reconciliation:IntervalSeconds (0: never), at most Reconciliation:TenantsPerRun per
/// run (the next run goes on after the last one checked), and logs each drifted tenant as a warning with the numbers.
/// It repairs only when Reconciliation:RepairAutomatically is set. The worker command runs it; serve only with
/// Reconciliation:ScheduleInServe.
/// </summary>
public sealed partial class ReconciliationJob(
    Reconciler reconciler, IOptions<ReconciliationOptions> options, TimeProvider timeProvider, ILogger<ReconciliationJob> logger) : BackgroundService
{
    private readonly ReconciliationOptions settings = options.Value;
    private string? resumeAfter;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        settings.IntervalSeconds == 0
            ? Task.CompletedTask
            : PeriodicTimerExtensions.RunPeriodicallyAsync(
                TimeSpan.FromSeconds(settings.IntervalSeconds), timeProvider, RunOnceAsync, exception => LogRunFailed(logger, exception), stoppingToken);

    /// <summary>One run over the tenants (from where the previous run stopped).</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var summary = await reconciler.RunAsync(resumeAfter, settings.RepairAutomatically, ReportAsync, cancellationToken);
        resumeAfter = summary.LastTenantId;
        LogRun(logger, summary.Tenants, summary.Drifted, summary.Repaired);
    }

    private Task ReportAsync(TenantOutcome outcome, CancellationToken cancellationToken)
    {
        var found = outcome.Found;
        if (found.Drift != DriftKinds.None)
        {
            LogDrift(
                logger, found.TenantId, found.Drift, found.LedgerBalanceMicros, found.Redis?.BalanceMicros, found.PendingNotInLedgerMicros,
                found.BalanceDifferenceMicros, found.CallChargesMicros, found.CallDebitsMicros, found.LedgerEpoch, found.Redis?.Epoch, found.Describe());
        }

        if (outcome.Repair is { } repair)
        {
            LogRepair(logger, found.TenantId, repair.Message, outcome.After?.Drift ?? found.Drift);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation drift in tenant {TenantId} ({Drift}): ledger balance {LedgerBalanceMicros}, Redis balance {RedisBalanceMicros}, pending not yet in the ledger {PendingMicros}, difference {DifferenceMicros}; call records charge {CallChargesMicros} vs ledger call debits {CallDebitsMicros}; epoch ledger {LedgerEpoch} Redis {RedisEpoch}. {Details}")]
    private static partial void LogDrift(
        ILogger logger, string tenantId, DriftKinds drift, long ledgerBalanceMicros, long? redisBalanceMicros, long pendingMicros, long? differenceMicros,
        long callChargesMicros, long callDebitsMicros, long ledgerEpoch, long? redisEpoch, string details);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation repair of tenant {TenantId}: {Outcome}; drift after it: {DriftAfter}")]
    private static partial void LogRepair(ILogger logger, string tenantId, string outcome, DriftKinds driftAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciled {Tenants} tenants: {Drifted} drifted, {Repaired} repaired")]
    private static partial void LogRun(ILogger logger, int tenants, int drifted, int repaired);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A reconciliation run failed (storage unavailable); the next run retries")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}

/// <summary>Registers the scheduled job (the worker command always, serve when Reconciliation:ScheduleInServe is set).</summary>
public static class ReconciliationJobRegistration
{
    public static IServiceCollection AddReconciliationJob(this IServiceCollection services)
    {
        services.AddSingleton<ReconciliationJob>();
        services.AddHostedService(provider => provider.GetRequiredService<ReconciliationJob>());
        return services;
    }
}
