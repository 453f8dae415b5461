namespace CommsCredits.Gateway.Notifications;

using CommsCredits.Contracts.V1;
using Dapper;
using Google.Protobuf.WellKnownTypes;
using Npgsql;

/// <summary>Notification settings, the outbox and its deliveries in PostgreSQL, for the Notifications API.</summary>
public sealed class NotificationRepository(NpgsqlDataSource dataSource)
{
    /// <summary>What SetNotificationSettings stores; a null secret with a URL keeps the stored one.</summary>
    public sealed record SettingsChange(string? WebhookUrl, string? WebhookSecret, string? EmailAddress, long[] LowBalanceLevelsMicros);

    /// <summary>The stored settings (a class with setters: Dapper cannot pass a bigint[] column to a constructor).</summary>
    public sealed class StoredSettings
    {
        public string? WebhookUrl { get; set; }

        public bool WebhookSecretSet { get; set; }

        public string? EmailAddress { get; set; }

        public long[] LowBalanceLevelsMicros { get; set; } = [];

        public DateTime UpdatedAt { get; set; }
    }

    public enum SetResult
    {
        Stored,
        UnknownTenant,
        SecretMissing,
    }

    /// <summary>
    /// Replaces the settings, raises the tenant's directory revision and notifies every gateway, in one transaction:
    /// the low-balance levels travel with the tenant's profile, which each gateway reloads on that notification.
    /// </summary>
    public async Task<SetResult> SetAsync(string tenantId, SettingsChange change, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The tenant row's lock (taken first, by raising the revision) also orders concurrent changes of its settings.
        if (await Tenants.TenantRepository.RaiseProfileRevisionAsync(connection, transaction, tenantId, cancellationToken) is null)
        {
            return SetResult.UnknownTenant;
        }

        var secret = change.WebhookSecret;
        if (change.WebhookUrl is not null && secret is null)
        {
            secret = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT webhook_secret FROM notification_settings WHERE tenant_id = @tenantId",
                new { tenantId },
                transaction,
                cancellationToken: cancellationToken));
            if (secret is null)
            {
                return SetResult.SecretMissing;
            }
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO notification_settings (tenant_id, webhook_url, webhook_secret, email_address, low_balance_levels_micros)
            VALUES (@tenantId, @url, @secret, @email, @levels)
            ON CONFLICT (tenant_id) DO UPDATE
                SET webhook_url = excluded.webhook_url, webhook_secret = excluded.webhook_secret, email_address = excluded.email_address,
                    low_balance_levels_micros = excluded.low_balance_levels_micros, updated_at = now();
            """,
            new { tenantId, url = change.WebhookUrl, secret, email = change.EmailAddress, levels = change.LowBalanceLevelsMicros },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return SetResult.Stored;
    }

    public async Task<StoredSettings?> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<StoredSettings>(new CommandDefinition(
            """
            SELECT webhook_url AS WebhookUrl, webhook_secret IS NOT NULL AS WebhookSecretSet, email_address AS EmailAddress,
                   low_balance_levels_micros AS LowBalanceLevelsMicros, updated_at AS UpdatedAt
            FROM notification_settings WHERE tenant_id = @tenantId
            """,
            new { tenantId },
            cancellationToken: cancellationToken));
    }

    /// <summary>Up to <paramref name="limit"/> notifications of the tenant, newest first, older than <paramref name="beforeId"/> (0: from the newest).</summary>
    public async Task<IReadOnlyList<Notification>> ListAsync(string tenantId, long beforeId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<OutboxRow>(new CommandDefinition(
            """
            SELECT notification_id AS NotificationId, event_id AS EventId, kind AS Kind, payload::text AS Payload, occurred_at AS OccurredAt
            FROM notification_outbox
            WHERE tenant_id = @tenantId AND (@beforeId = 0 OR notification_id < @beforeId)
            ORDER BY notification_id DESC
            LIMIT @limit
            """,
            new { tenantId, beforeId, limit },
            cancellationToken: cancellationToken))).AsList();
        var ids = rows.Select(row => row.NotificationId).ToArray();
        var deliveries = (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
            """
            SELECT notification_id AS NotificationId, channel AS Channel, status AS Status, attempts AS Attempts,
                   next_attempt_at AS NextAttemptAt, last_error AS LastError, delivered_at AS DeliveredAt
            FROM notification_deliveries WHERE notification_id = ANY(@ids)
            ORDER BY notification_id, channel DESC
            """,
            new { ids },
            cancellationToken: cancellationToken))).ToLookup(delivery => delivery.NotificationId);
        return [.. rows.Select(row => ToMessage(tenantId, row, deliveries[row.NotificationId]))];
    }

    public async Task<Notification?> GetAsync(string tenantId, long notificationId, CancellationToken cancellationToken)
    {
        var page = await ListAsync(tenantId, notificationId + 1, 1, cancellationToken);
        return page.Count == 1 && page[0].NotificationId == notificationId ? page[0] : null;
    }

    /// <summary>Puts the notification's dead deliveries (to the channel given, or all) back to pending; returns how many.</summary>
    public async Task<int> ReviveAsync(string tenantId, long notificationId, string? channel, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE notification_deliveries d
            SET status = 'pending', attempts = 0, next_attempt_at = now(), claimed_until = NULL
            FROM notification_outbox o
            WHERE o.notification_id = @notificationId AND o.tenant_id = @tenantId AND d.notification_id = o.notification_id
              AND d.status = 'dead' AND (@channel::text IS NULL OR d.channel = @channel::text)
            """,
            new { tenantId, notificationId, channel },
            cancellationToken: cancellationToken));
    }

    private static Notification ToMessage(string tenantId, OutboxRow row, IEnumerable<DeliveryRow> deliveries)
    {
        var message = new Notification
        {
            NotificationId = row.NotificationId,
            TenantId = tenantId,
            EventId = row.EventId,
            Kind = row.Kind,
            PayloadJson = row.Payload,
            OccurredAt = Utc(row.OccurredAt),
        };
        foreach (var delivery in deliveries)
        {
            var item = new NotificationDelivery
            {
                Channel = NotificationChannels.ToProto(delivery.Channel),
                Status = NotificationChannels.StatusToProto(delivery.Status),
                Attempts = (uint)delivery.Attempts,
                LastError = delivery.LastError ?? string.Empty,
            };
            if (string.Equals(delivery.Status, NotificationChannels.Pending, StringComparison.Ordinal))
            {
                item.NextAttemptAt = Utc(delivery.NextAttemptAt);
            }

            if (delivery.DeliveredAt is { } deliveredAt)
            {
                item.DeliveredAt = Utc(deliveredAt);
            }

            message.Deliveries.Add(item);
        }

        return message;
    }

    private static Timestamp Utc(DateTime value) => Timestamp.FromDateTime(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private sealed record OutboxRow(long NotificationId, string EventId, string Kind, string Payload, DateTime OccurredAt);

    private sealed record DeliveryRow(long NotificationId, string Channel, string Status, int Attempts, DateTime NextAttemptAt, string? LastError, DateTime? DeliveredAt);
}
