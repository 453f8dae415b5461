namespace CommsCredits.Gateway.Supervision;

using System.Diagnostics;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Storage;
using CommsCredits.Gateway.Tenants;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Closes sessions whose network element went silent (RFC 8506 section 5.1, Tcc): every
/// <see cref="SupervisionOptions.IntervalSeconds"/>, for each tenant, the sessions whose deadline (last request plus
/// validity plus grace) has passed are closed like a Terminate with cause SUPERVISION_TIMEOUT: the hold is released
/// (or, by policy, the last grant debited) and the call record written. Every gateway may run it: usage.lua decides
/// atomically whether a session is still due, so each is closed exactly once. Each round also removes, from the session
/// journal, the steps that closed sessions left behind (<see cref="SessionJournal"/>).
/// </summary>
public sealed partial class SessionSupervisor(
    TenantRepository tenantRepository,
    SessionCharging charging,
    SessionJournal journal,
    IOptions<SupervisionOptions> options,
    TimeProvider timeProvider,
    ILogger<SessionSupervisor> logger,
    GatewayMetrics? metrics = null) : BackgroundService
{
    private readonly SupervisionOptions settings = options.Value;
    private readonly Counter? closures = metrics?.SupervisionClosures.WithLabels(GatewayMetrics.SnakeCase(options.Value.Policy.ToString()));
    private readonly Histogram? purgeDuration = metrics?.PostgresOperation("journal_purge");

    /// <summary>The tenants of the last round, used while PostgreSQL cannot be read: closing sessions needs only Redis.</summary>
    private IReadOnlyList<string> knownTenants = [];

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        settings.Enabled
            ? PeriodicTimerExtensions.RunPeriodicallyAsync(
                TimeSpan.FromSeconds(settings.IntervalSeconds), timeProvider, SuperviseAsync, exception => LogRoundFailed(logger, exception), stoppingToken)
            : Task.CompletedTask;

    /// <summary>One round over every tenant; returns how many sessions this round closed.</summary>
    public async Task<int> SuperviseAsync(CancellationToken cancellationToken)
    {
        var closedNow = 0;
        foreach (var tenantId in await TenantsAsync(cancellationToken))
        {
            closedNow += await SuperviseTenantAsync(tenantId, cancellationToken);
        }

        try
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await journal.PurgeAsync(settings.MaxPurgedStepsPerRound, cancellationToken);
            }
            finally
            {
                purgeDuration?.ObserveSince(started);
            }
        }
        catch (NpgsqlException exception)
        {
            LogPurgeFailed(logger, exception);
        }

        return closedNow;
    }

    /// <summary>Closes the tenant's silent sessions (up to the per-round limit); returns how many this call closed.</summary>
    public async Task<int> SuperviseTenantAsync(string tenantId, CancellationToken cancellationToken)
    {
        var closedNow = 0;
        foreach (var sessionId in await charging.DueSessionsAsync(tenantId, settings.MaxClosuresPerTenantPerRound, cancellationToken))
        {
            try
            {
                if (await charging.CloseIfSilentAsync(tenantId, sessionId, cancellationToken))
                {
                    closedNow++;
                    closures?.Increment();
                    LogClosed(logger, tenantId, sessionId, settings.Policy);
                }
            }
            catch (Exception exception) when (exception is not (StorageUnavailableException or OperationCanceledException or TimeoutException or NpgsqlException))
            {
                // One session that cannot be closed (a broken invariant in its state) must not stop the others.
                LogCloseFailed(logger, tenantId, sessionId, exception);
            }
        }

        return closedNow;
    }

    private async Task<IReadOnlyList<string>> TenantsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var tenants = await tenantRepository.ListAllIdsAsync(settings.TenantPageSize, int.MaxValue, cancellationToken);
            knownTenants = tenants;
            return tenants;
        }
        catch (NpgsqlException exception)
        {
            LogTenantsUnreadable(logger, knownTenants.Count, exception);
            return knownTenants;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Supervision closed session {SessionId} of tenant {TenantId}: nothing heard within validity plus grace ({Policy})")]
    private static partial void LogClosed(ILogger logger, string tenantId, string sessionId, SupervisionPolicy policy);

    [LoggerMessage(Level = LogLevel.Error, Message = "Supervision could not close session {SessionId} of tenant {TenantId}; it is left as it is and tried again next round")]
    private static partial void LogCloseFailed(ILogger logger, string tenantId, string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Supervision could not read the tenants from PostgreSQL; supervising the {Count} of the last round")]
    private static partial void LogTenantsUnreadable(ILogger logger, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Supervision could not purge the session journal; the next round tries again")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A supervision round failed (storage unavailable); the next round tries again")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
