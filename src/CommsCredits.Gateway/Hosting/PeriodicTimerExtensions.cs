namespace CommsCredits.Gateway.Hosting;

/// <summary>The loop condition of our periodic workers.</summary>
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
}
