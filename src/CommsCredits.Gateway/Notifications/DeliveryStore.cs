namespace CommsCredits.Gateway.Notifications;

using Dapper;
using Npgsql;

/// <summary>
/// The dispatcher's side of notification_deliveries. Every statement is safe with several dispatchers at once: rows
/// are taken with FOR UPDATE SKIP LOCKED, and an outcome is recorded only by the claim that made the attempt.
/// </summary>
public sealed class DeliveryStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Gives up to <paramref name="batchSize"/> outbox rows not seen yet one delivery per channel their tenant has set
    /// up now, and marks them seen, in one statement; returns the deliveries created.
    /// </summary>
    public async Task<int> CreateDeliveriesAsync(int batchSize, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            WITH fresh AS (
                SELECT notification_id FROM notification_outbox
                WHERE deliveries_created_at IS NULL
                ORDER BY notification_id
                LIMIT @batchSize
                FOR UPDATE SKIP LOCKED
            ), marked AS (
                UPDATE notification_outbox o SET deliveries_created_at = now()
                FROM fresh WHERE o.notification_id = fresh.notification_id
                RETURNING o.notification_id, o.tenant_id
            )
            INSERT INTO notification_deliveries (notification_id, channel)
            SELECT m.notification_id, c.channel
            FROM marked m
            JOIN notification_settings s ON s.tenant_id = m.tenant_id
            CROSS JOIN LATERAL (VALUES ('webhook', s.webhook_url IS NOT NULL), ('email', s.email_address IS NOT NULL)) AS c(channel, wanted)
            WHERE c.wanted
            ON CONFLICT DO NOTHING
            """,
            new { batchSize },
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Claims up to <paramref name="batchSize"/> due deliveries for <paramref name="leaseSeconds"/>, counting the
    /// attempt, and returns them with what sending them needs (the tenant's settings as they are now).
    /// </summary>
    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(int batchSize, int leaseSeconds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ClaimedDelivery>(new CommandDefinition(
            """
            WITH due AS (
                SELECT notification_id, channel FROM notification_deliveries
                WHERE status = 'pending' AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until <= now())
                ORDER BY next_attempt_at
                LIMIT @batchSize
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE notification_deliveries d
                SET attempts = d.attempts + 1, claimed_until = now() + make_interval(secs => @leaseSeconds)
                FROM due WHERE d.notification_id = due.notification_id AND d.channel = due.channel
                RETURNING d.notification_id, d.channel, d.attempts
            )
            SELECT c.notification_id AS NotificationId, c.channel AS Channel, c.attempts AS Attempts, o.tenant_id AS TenantId,
                   o.event_id AS EventId, o.kind AS Kind, o.payload::text AS PayloadJson, o.occurred_at AS OccurredAt,
                   s.webhook_url AS WebhookUrl, s.webhook_secret AS WebhookSecret, s.email_address AS EmailAddress
            FROM claimed c
            JOIN notification_outbox o ON o.notification_id = c.notification_id
            LEFT JOIN notification_settings s ON s.tenant_id = o.tenant_id
            ORDER BY c.notification_id
            """,
            new { batchSize, leaseSeconds = (double)leaseSeconds },
            cancellationToken: cancellationToken));
        return rows.AsList();
    }

    /// <summary>The receiver accepted it. False when the claim had been lost (another attempt owns the row).</summary>
    public Task<bool> MarkDeliveredAsync(ClaimedDelivery delivery, CancellationToken cancellationToken) =>
        UpdateClaimedAsync(delivery, "status = 'delivered', delivered_at = now(), claimed_until = NULL", null, 0, cancellationToken);

    public Task<bool> MarkDeadAsync(ClaimedDelivery delivery, string error, CancellationToken cancellationToken) =>
        UpdateClaimedAsync(delivery, "status = 'dead', last_error = @error, claimed_until = NULL", error, 0, cancellationToken);

    public Task<bool> ScheduleRetryAsync(ClaimedDelivery delivery, string error, TimeSpan delay, CancellationToken cancellationToken) =>
        UpdateClaimedAsync(
            delivery,
            "last_error = @error, claimed_until = NULL, next_attempt_at = now() + make_interval(secs => @delaySeconds)",
            error,
            delay.TotalSeconds,
            cancellationToken);

    private async Task<bool> UpdateClaimedAsync(ClaimedDelivery delivery, string assignments, string? error, double delaySeconds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // The attempt number is the claim: a gateway whose lease ran out and whose row was claimed again since
        // records nothing, so the newer attempt's outcome stands.
        var updated = await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE notification_deliveries SET {assignments}
            WHERE notification_id = @notificationId AND channel = @channel AND attempts = @attempts AND status = 'pending'
            """,
            new { notificationId = delivery.NotificationId, channel = delivery.Channel, attempts = delivery.Attempts, error, delaySeconds },
            cancellationToken: cancellationToken));
        return updated == 1;
    }
}

/// <summary>A delivery claimed for one attempt, with its event and the tenant's current settings.</summary>
public sealed record ClaimedDelivery(
    long NotificationId,
    string Channel,
    int Attempts,
    string TenantId,
    string EventId,
    string Kind,
    string PayloadJson,
    DateTime OccurredAt,
    string? WebhookUrl,
    string? WebhookSecret,
    string? EmailAddress)
{
    /// <summary>Never prints the secret: a record's generated ToString would.</summary>
    public override string ToString() => $"notification {NotificationId} ({Kind}, event {EventId}) to {Channel} of tenant {TenantId}, attempt {Attempts}";
}
