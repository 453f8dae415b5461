namespace CommsCredits.Gateway.Hosting;

using CommsCredits.Gateway.Storage;
using Npgsql;

/// <summary>The loop of our periodic workers.</summary>
public static class PeriodicTimerExtensions
{
    /// <summary>Waits for the next tick; false when the worker is stopping (instead of throwing).</summary>
    public static async Task<bool> TickOrStopAsync(this PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// Runs <paramref name="run"/> every <paramref name="interval"/> until stopped. A run that fails because storage
    /// could not be reached (Redis, PostgreSQL, a timeout) is reported to <paramref name="onStorageFailure"/> and the
    /// next tick tries again; any other exception is a bug and ends the worker.
    /// </summary>
    public static async Task RunPeriodicallyAsync(
        TimeSpan interval, TimeProvider timeProvider, Func<CancellationToken, Task> run, Action<Exception> onStorageFailure, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, timeProvider);
        while (await timer.TickOrStopAsync(stoppingToken))
        {
            try
            {
                await run(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is StorageUnavailableException or NpgsqlException or TimeoutException)
            {
                onStorageFailure(exception);
            }
        }
    }
}
