namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Notifications;
using CommsCredits.Grpc.Server;

/// <summary>The commscredits.v1.Notifications service.</summary>
public sealed class NotificationsService(NotificationAdministration administration)
{
    public Task<NotificationSettings> SetNotificationSettings(SetNotificationSettingsRequest request, ServerCallContext context) =>
        administration.SetNotificationSettingsAsync(request, context.CancellationToken);

    public Task<NotificationSettings> GetNotificationSettings(GetNotificationSettingsRequest request, ServerCallContext context) =>
        administration.GetNotificationSettingsAsync(request, context.CancellationToken);

    public Task<ListNotificationsResponse> ListNotifications(ListNotificationsRequest request, ServerCallContext context) =>
        administration.ListNotificationsAsync(request, context.CancellationToken);

    public Task<Notification> RetryNotification(RetryNotificationRequest request, ServerCallContext context) =>
        administration.RetryNotificationAsync(request, context.CancellationToken);
}
