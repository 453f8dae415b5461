namespace CommsCredits.Gateway.Notifications;

using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

/// <summary>The JSON body a webhook receives, and its signature (docs/notifications.md).</summary>
public static class NotificationEnvelope
{
    public const string EventIdHeader = "X-CommsCredits-Event-Id";
    public const string SignatureHeader = "X-CommsCredits-Signature";

    /// <summary>{"event_id","tenant_id","kind","occurred_at","payload"}, UTF-8, the payload as stored.</summary>
    public static byte[] Body(ClaimedDelivery delivery)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + delivery.PayloadJson.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("event_id", delivery.EventId);
            writer.WriteString("tenant_id", delivery.TenantId);
            writer.WriteString("kind", delivery.Kind);
            writer.WriteString("occurred_at", OccurredAt(delivery.OccurredAt));
            writer.WritePropertyName("payload");
            writer.WriteRawValue(delivery.PayloadJson);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>"sha256=" and the lower-case hex HMAC-SHA256 of the exact body bytes under the tenant's secret.</summary>
    public static string Signature(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>ISO 8601 in UTC with milliseconds, e.g. 2026-11-22T05:47:24.123Z.</summary>
    public static string OccurredAt(DateTime occurredAt) =>
        DateTime.SpecifyKind(occurredAt, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
