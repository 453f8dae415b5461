namespace CommsCredits.Gateway.Notifications;

using CommsCredits.Gateway.Metrics;
using CommsCredits.Gateway.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Delivers the outbox, in every gateway at once. Each round, in bounded batches: gives new outbox rows their
/// deliveries, claims due ones with a lease, sends them (a few at a time) and records each outcome. At least once: a
/// delivery is marked delivered only after the receiver accepted it, so a gateway that dies in between leaves it
/// pending, and the next attempt, once the lease ends, sends the same event id again.
/// </summary>
public sealed partial class NotificationDispatcher(
    DeliveryStore store,
    WebhookChannel webhook,
    EmailChannel email,
    IOptions<NotificationsOptions> options,
    ILogger<NotificationDispatcher> logger,
    GatewayMetrics? metrics = null) : BackgroundService
{
    private readonly NotificationsOptions settings = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(settings.PollIntervalMs));
        while (await timer.TickOrStopAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
            {
                LogRoundFailed(logger, exception);
            }
        }
    }

    /// <summary>One round: fans out one batch of new events, then sends one batch of due deliveries; returns how many it sent.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await store.CreateDeliveriesAsync(settings.BatchSize, cancellationToken);
        var claimed = await store.ClaimAsync(settings.BatchSize, settings.ClaimLeaseSeconds, cancellationToken);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = settings.MaxConcurrentDeliveries, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(claimed, parallel, async (delivery, token) => await DeliverAsync(delivery, token));
        return claimed.Count;
    }

    private async Task DeliverAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        var outcome = await AttemptAsync(delivery, cancellationToken);
        switch (outcome.Result)
        {
            case DeliveryResult.Delivered:
                await store.MarkDeliveredAsync(delivery, cancellationToken);
                Count(delivery, "delivered");
                break;
            case DeliveryResult.Failed when delivery.Attempts < settings.MaxAttempts:
                await store.ScheduleRetryAsync(delivery, outcome.Error!, Backoff.Delay(delivery.Attempts, settings), cancellationToken);
                Count(delivery, "retry");
                break;
            default:
                if (await store.MarkDeadAsync(delivery, outcome.Error!, cancellationToken))
                {
                    LogDead(logger, delivery.NotificationId, delivery.Channel, delivery.TenantId, delivery.EventId, delivery.Attempts, outcome.Error!);
                    Count(delivery, "dead");
                }

                break;
        }
    }

    /// <summary>Channels are webhook and email; any other name stored in a row is counted as "other", never as a label set of its own.</summary>
    private void Count(ClaimedDelivery delivery, string outcome)
    {
        var channel = delivery.Channel is NotificationChannels.Webhook or NotificationChannels.Email ? delivery.Channel : "other";
        metrics?.Notifications.WithLabels(channel, outcome).Increment();
    }

    private async Task<DeliveryOutcome> AttemptAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        try
        {
            return string.Equals(delivery.Channel, NotificationChannels.Webhook, StringComparison.Ordinal)
                ? await webhook.DeliverAsync(delivery, cancellationToken)
                : await email.DeliverAsync(delivery, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A failure the channel did not foresee is retried like any other, and bounded by MaxAttempts the same way.
            LogAttemptFailed(logger, delivery.NotificationId, delivery.Channel, exception.GetType().Name);
            return DeliveryOutcome.Failed("unexpected " + exception.GetType().Name + ": " + exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {NotificationId} to {Channel} of tenant {TenantId} (event {EventId}) is dead after {Attempts} attempts: {Error}")]
    private static partial void LogDead(ILogger logger, long notificationId, string channel, string tenantId, string eventId, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {NotificationId} to {Channel}: the attempt failed with an unexpected {ExceptionType}")]
    private static partial void LogAttemptFailed(ILogger logger, long notificationId, string channel, string exceptionType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A notification dispatch round failed; the next round retries")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
