namespace CommsCredits.Gateway.Tenants;

using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Keeps the catalog's rate tables and directories current: listens for the notifications a rate import and a
/// directory change send, and every Catalog:RefreshIntervalSeconds compares cached revisions with PostgreSQL in case
/// a notification was missed.
/// </summary>
public sealed partial class TenantCatalogRefresher(
    [FromKeyedServices(NotificationListener.DataSourceKey)] NpgsqlDataSource dataSource,
    TenantCatalog catalog,
    TenantRepository repository,
    IOptions<TenantCatalogOptions> options,
    ILogger<TenantCatalogRefresher> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ListenAsync(stoppingToken), PollAsync(stoppingToken));

    private Task ListenAsync(CancellationToken stoppingToken) =>
        NotificationListener.ListenAsync(
            dataSource,
            [TenantRepository.RatesChangedChannel, DirectoryRepository.DirectoryChangedChannel],
            tenantId => _ = RefreshQuietlyAsync(tenantId, stoppingToken),
            exception => LogListenFailed(logger, exception),
            stoppingToken);

    private Task PollAsync(CancellationToken stoppingToken) =>
        PeriodicTimerExtensions.RunPeriodicallyAsync(
            TimeSpan.FromSeconds(options.Value.RefreshIntervalSeconds), TimeProvider.System, CheckRevisionsAsync, exception => LogPollFailed(logger, exception), stoppingToken);

    /// <summary>Reloads every cached tenant whose revisions in PostgreSQL differ from the cached ones.</summary>
    private async Task CheckRevisionsAsync(CancellationToken stoppingToken)
    {
        var cached = catalog.CachedTenantIds();
        if (cached.Length == 0)
        {
            return;
        }

        var stored = await repository.GetRevisionsAsync(cached, stoppingToken);
        foreach (var tenantId in cached)
        {
            var storedRevisions = stored.TryGetValue(tenantId, out var revisions) ? revisions : (TenantRevisions?)null;
            if (storedRevisions != catalog.CachedRevisions(tenantId))
            {
                await RefreshQuietlyAsync(tenantId, stoppingToken);
            }
        }
    }

    private async Task RefreshQuietlyAsync(string tenantId, CancellationToken stoppingToken)
    {
        try
        {
            await catalog.RefreshAsync(tenantId, stoppingToken);
            LogRefreshed(logger, tenantId);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException or TimeoutException or Storage.StorageUnavailableException)
        {
            LogRefreshFailed(logger, exception, tenantId);
        }
        catch (Exception exception)
        {
            // Bad stored data (a directory that fails its checks) or a bug: the notification path would otherwise lose
            // it unobserved. The old profile stays in use; someone must look.
            LogRefreshBroken(logger, exception, tenantId);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not reload tenant {TenantId}: its stored data or the loader is broken; the old profile stays in use")]
    private static partial void LogRefreshBroken(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloaded the rate tables and directory of tenant {TenantId}")]
    private static partial void LogRefreshed(ILogger logger, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reload the rate tables and directory of tenant {TenantId}; the periodic check will retry")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the change notification connection; reconnecting")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The periodic revision check failed")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
