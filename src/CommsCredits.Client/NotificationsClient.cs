namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>
/// A client of the commscredits.v1.Notifications service. Thread-safe; share one per channel. Every call carries the
/// API key (an admin key) as "authorization: Bearer &lt;key&gt;".
/// </summary>
public sealed class NotificationsClient(GrpcChannel channel, string apiKey)
{
    private const string Service = "/commscredits.v1.Notifications/";

    private readonly ApiKeyHeaders key = new(apiKey);

    public Task<NotificationSettings> SetNotificationSettingsAsync(SetNotificationSettingsRequest request, CallOptions options = default) =>
        channel.UnaryAsync<SetNotificationSettingsRequest, NotificationSettings>(Service + "SetNotificationSettings", request, key.Apply(options));

    public Task<NotificationSettings> GetNotificationSettingsAsync(GetNotificationSettingsRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetNotificationSettingsRequest, NotificationSettings>(Service + "GetNotificationSettings", request, key.Apply(options));

    public Task<ListNotificationsResponse> ListNotificationsAsync(ListNotificationsRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ListNotificationsRequest, ListNotificationsResponse>(Service + "ListNotifications", request, key.Apply(options));

    public Task<Notification> RetryNotificationAsync(RetryNotificationRequest request, CallOptions options = default) =>
        channel.UnaryAsync<RetryNotificationRequest, Notification>(Service + "RetryNotification", request, key.Apply(options));
}
