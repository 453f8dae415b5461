namespace CommsCredits.Tests.Notifications;

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Charging;
using Dapper;
using Npgsql;
using Shouldly;

/// <summary>
/// One gateway for the notification tests, with a dispatcher that polls every 50 ms, gives up after 3 attempts and
/// backs off 100 to 200 ms, sending email to one <see cref="SmtpListener"/> on loopback. Tests use tenants of their
/// own, and webhook receivers of their own.
/// </summary>
public static class NotificationsGateway
{
    public const int MaxAttempts = 3;

    private static readonly Lazy<Task<(GatewayInstance Gateway, SmtpListener Smtp)>> Instance = new(StartAsync);

    public static async Task<GatewayInstance> GetAsync() => (await Instance.Value).Gateway;

    public static async Task<SmtpListener> SmtpAsync() => (await Instance.Value).Smtp;

    /// <summary>The settings of the shared gateway, for another one on the same database.</summary>
    public static async Task<string[]> SettingsAsync() => Settings((await Instance.Value).Smtp.Port);

    public static NotificationsClient Client(GatewayInstance gateway) => new(gateway.Channel, gateway.AdminKey);

    /// <summary>The lower-case hex HMAC-SHA256 a receiver computes, written here apart from the gateway's code.</summary>
    public static string ExpectedSignature(string secret, byte[] body)
    {
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        return "sha256=" + string.Concat(hmac.ComputeHash(body).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    /// <summary>Writes an event into the outbox as the producers do; returns its notification id.</summary>
    public static async Task<long> InsertEventAsync(GatewayInstance gateway, string tenantId, string kind, string eventId, string payloadJson, DateTimeOffset? occurredAt = null)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO notification_outbox (tenant_id, kind, event_id, payload, occurred_at)
            VALUES (@tenantId, @kind, @eventId, @payloadJson::jsonb, @occurredAt) RETURNING notification_id
            """,
            new { tenantId, kind, eventId, payloadJson, occurredAt = occurredAt ?? DateTimeOffset.UtcNow });
    }

    /// <summary>Waits until the notification's deliveries all satisfy <paramref name="done"/>; returns the last view.</summary>
    public static async Task<Notification> WaitForAsync(GatewayInstance gateway, string tenantId, long notificationId, Func<Notification, bool> done, int timeoutMs = 10_000)
    {
        var client = Client(gateway);
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var page = await client.ListNotificationsAsync(new ListNotificationsRequest { TenantId = tenantId, PageSize = 1_000 });
            var notification = page.Notifications.Single(n => n.NotificationId == notificationId);
            if (done(notification))
            {
                return notification;
            }

            DateTime.UtcNow.ShouldBeLessThan(deadline, $"notification {notificationId} did not get there: {notification}");
            await Task.Delay(25);
        }
    }

    public static bool AllDelivered(Notification notification, int channels) =>
        notification.Deliveries.Count == channels && notification.Deliveries.All(d => d.Status == DeliveryStatus.Delivered);

    public static SetNotificationSettingsRequest Webhook(string tenantId, string url, string secret) =>
        new() { TenantId = tenantId, WebhookUrl = url, WebhookSecret = secret };

    private static async Task<(GatewayInstance, SmtpListener)> StartAsync()
    {
        var smtp = SmtpListener.Start();
        var gateway = await GatewayInstance.StartAsync(null, Settings(smtp.Port));
        return (gateway, smtp);
    }

    private static string[] Settings(int smtpPort) =>
    [
        "--Notifications:PollIntervalMs=50",
        "--Notifications:BatchSize=10",
        "--Notifications:MaxAttempts=" + MaxAttempts.ToString(CultureInfo.InvariantCulture),
        "--Notifications:BackoffBaseMs=100",
        "--Notifications:BackoffMaxMs=200",
        "--Notifications:WebhookTimeoutMs=3000",
        "--Notifications:SmtpTimeoutMs=3000",
        "--Notifications:ClaimLeaseSeconds=30",
        "--Notifications:SmtpHost=127.0.0.1",
        "--Notifications:SmtpPort=" + smtpPort.ToString(CultureInfo.InvariantCulture),
        "--Notifications:SmtpFromAddress=billing@commscredits.test",
    ];
}
