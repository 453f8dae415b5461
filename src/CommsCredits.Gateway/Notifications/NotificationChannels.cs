namespace CommsCredits.Gateway.Notifications;

using CommsCredits.Contracts.V1;

/// <summary>The names of channels and delivery states in notification_deliveries (migration 0007), and their proto enums.</summary>
public static class NotificationChannels
{
    public const string Webhook = "webhook";
    public const string Email = "email";

    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Dead = "dead";

    /// <summary>The most characters of last_error (the column's check).</summary>
    public const int MaxErrorLength = 500;

    public static NotificationChannel ToProto(string channel) => channel switch
    {
        Webhook => NotificationChannel.Webhook,
        Email => NotificationChannel.Email,
        _ => throw new InvalidOperationException($"unknown notification channel '{channel}' in notification_deliveries"),
    };

    public static string? FromProto(NotificationChannel channel) => channel switch
    {
        NotificationChannel.Webhook => Webhook,
        NotificationChannel.Email => Email,
        _ => null,
    };

    public static DeliveryStatus StatusToProto(string status) => status switch
    {
        Pending => DeliveryStatus.Pending,
        Delivered => DeliveryStatus.Delivered,
        Dead => DeliveryStatus.Dead,
        _ => throw new InvalidOperationException($"unknown delivery status '{status}' in notification_deliveries"),
    };

    /// <summary>An error for last_error and the logs: one line, bounded.</summary>
    public static string BoundedError(string error)
    {
        var line = error.ReplaceLineEndings(" ");
        return line.Length <= MaxErrorLength ? line : line[..(MaxErrorLength - 3)] + "...";
    }
}
