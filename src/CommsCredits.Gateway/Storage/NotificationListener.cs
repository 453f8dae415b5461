namespace CommsCredits.Gateway.Storage;

using Npgsql;

/// <summary>
/// Listens on PostgreSQL notification channels until stopped, reconnecting after a failure, and hands each
/// notification's payload to a callback. Notifications sent while the connection was down are lost: every user pairs
/// this with a periodic check.
/// </summary>
public static class NotificationListener
{
    /// <summary>
    /// The key of the listeners' own data source in the service container (ServiceRegistration): each listener holds its
    /// connection for as long as the process runs, so it must not hold one of Storage:PostgresMaxPoolSize.
    /// </summary>
    public const string DataSourceKey = "notification-listeners";

    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(2);

    public static async Task ListenAsync(
        NpgsqlDataSource dataSource, IReadOnlyList<string> channels, Action<string> onNotification, Action<NpgsqlException> onFailure, CancellationToken stoppingToken)
    {
        var listen = string.Join("; ", channels.Select(channel => "LISTEN " + channel));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, notification) => onNotification(notification.Payload);
                await using (var command = new NpgsqlCommand(listen, connection))
                {
                    await command.ExecuteNonQueryAsync(stoppingToken);
                }

                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (NpgsqlException exception)
            {
                onFailure(exception);
                await Task.Delay(ReconnectDelay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }
}
