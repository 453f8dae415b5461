namespace CommsCredits.Gateway.Credentials;

using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Makes revocations take effect: listens for the notification a revocation sends (the key is dropped at once), and
/// every Credentials:RefreshIntervalSeconds checks the keys in memory against PostgreSQL in case a notification was
/// missed (its listening connection was down).
/// </summary>
public sealed partial class ApiKeyRefresher(
    [FromKeyedServices(NotificationListener.DataSourceKey)] NpgsqlDataSource dataSource,
    ApiKeyCache cache,
    IOptions<CredentialsOptions> options,
    ILogger<ApiKeyRefresher> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ListenAsync(stoppingToken), PollAsync(stoppingToken));

    private Task ListenAsync(CancellationToken stoppingToken) =>
        NotificationListener.ListenAsync(
            dataSource, [ApiKeyStore.KeysChangedChannel], Revoked, exception => LogListenFailed(logger, exception), stoppingToken);

    private void Revoked(string keyId)
    {
        cache.Forget(keyId);
        LogRevoked(logger, keyId);
    }

    private Task PollAsync(CancellationToken stoppingToken) =>
        PeriodicTimerExtensions.RunPeriodicallyAsync(
            TimeSpan.FromSeconds(options.Value.RefreshIntervalSeconds),
            TimeProvider.System,
            async token =>
            {
                var dropped = await cache.RefreshAsync(token);
                if (dropped > 0)
                {
                    LogDropped(logger, dropped);
                }
            },
            exception => LogPollFailed(logger, exception),
            stoppingToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} was revoked; dropped it from memory")]
    private static partial void LogRevoked(ILogger logger, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "The periodic check found {Count} API key(s) no longer active; dropped them from memory")]
    private static partial void LogDropped(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the API key notification connection; reconnecting")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The periodic API key check failed; revoked keys may be honoured until it succeeds")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
