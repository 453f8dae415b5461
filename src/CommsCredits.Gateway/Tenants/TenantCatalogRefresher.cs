namespace CommsCredits.Gateway.Tenants;

using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Gateway.Storage;
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
    NpgsqlDataSource dataSource,
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

    private async Task PollAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RefreshIntervalSeconds));
        while (await timer.TickOrStopAsync(stoppingToken))
        {
            try
            {
                var cached = catalog.CachedTenantIds();
                if (cached.Length == 0)
                {
                    continue;
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
            catch (NpgsqlException exception)
            {
                LogPollFailed(logger, exception);
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
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException or ArgumentException)
        {
            LogRefreshFailed(logger, exception, tenantId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloaded the rate tables and directory of tenant {TenantId}")]
    private static partial void LogRefreshed(ILogger logger, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reload the rate tables and directory of tenant {TenantId}; the periodic check will retry")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the change notification connection; reconnecting")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The periodic revision check failed")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
