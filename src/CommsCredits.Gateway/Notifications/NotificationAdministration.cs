namespace CommsCredits.Gateway.Notifications;

using System.Globalization;
using System.Net.Mail;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>The Notifications API: settings validated here, stored by <see cref="NotificationRepository"/>.</summary>
public sealed class NotificationAdministration(NotificationRepository repository, TenantCatalog catalog, IOptions<NotificationsOptions> options)
{
    /// <summary>The most low-balance levels of one tenant (issue 4): each is checked on every debit that crosses it.</summary>
    public const int MaxLowBalanceLevels = 10;

    public const int MaxWebhookUrlLength = 2_048;
    public const int MinWebhookSecretLength = 16;
    public const int MaxWebhookSecretLength = 256;
    public const int MaxEmailAddressLength = 320;

    private readonly NotificationsOptions settings = options.Value;

    public async Task<NotificationSettings> SetNotificationSettingsAsync(SetNotificationSettingsRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        ValidateWebhook(request.WebhookUrl, request.WebhookSecret);
        ValidateEmailAddress(request.EmailAddress);
        var currency = (await RequireTenantAsync(request.TenantId, cancellationToken)).Tenant.Currency;
        var levels = LowBalanceLevels(request.LowBalanceLevels, currency);
        var change = new NotificationRepository.SettingsChange(
            NullIfEmpty(request.WebhookUrl), NullIfEmpty(request.WebhookSecret), NullIfEmpty(request.EmailAddress), levels);
        var result = await repository.SetAsync(request.TenantId, change, cancellationToken);
        return result switch
        {
            NotificationRepository.SetResult.UnknownTenant => throw UnknownTenant(request.TenantId),
            NotificationRepository.SetResult.SecretMissing => throw RequestValidator.Invalid("webhook_secret is required with webhook_url: the tenant has no secret stored"),
            _ => await GetAsync(request.TenantId, currency, cancellationToken),
        };
    }

    public async Task<NotificationSettings> GetNotificationSettingsAsync(GetNotificationSettingsRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        var currency = (await RequireTenantAsync(request.TenantId, cancellationToken)).Tenant.Currency;
        return await GetAsync(request.TenantId, currency, cancellationToken);
    }

    public async Task<ListNotificationsResponse> ListNotificationsAsync(ListNotificationsRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        if (request.PageSize > settings.MaxPageSize)
        {
            throw RequestValidator.Invalid($"page_size must be at most {settings.MaxPageSize} (Notifications:MaxPageSize), got {request.PageSize}");
        }

        var pageSize = request.PageSize == 0 ? settings.DefaultPageSize : (int)request.PageSize;
        var after = ListPages.StartAfter(request.PageToken, IsNotificationId);
        await RequireTenantAsync(request.TenantId, cancellationToken);
        var beforeId = after.Length == 0 ? 0 : long.Parse(after, NumberStyles.None, CultureInfo.InvariantCulture);
        var candidates = await repository.ListAsync(request.TenantId, beforeId, pageSize + 1, cancellationToken);
        var response = new ListNotificationsResponse();
        response.NextPageToken = ListPages.Fill(candidates, pageSize, response.Notifications, n => n.NotificationId.ToString(CultureInfo.InvariantCulture));
        return response;
    }

    public async Task<Notification> RetryNotificationAsync(RetryNotificationRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        if (request.NotificationId <= 0)
        {
            throw RequestValidator.Invalid($"notification_id must be positive (got {request.NotificationId})");
        }

        if (request.Channel != NotificationChannel.Unspecified && NotificationChannels.FromProto(request.Channel) is null)
        {
            throw RequestValidator.Invalid($"channel {(int)request.Channel} is not a NotificationChannel");
        }

        await RequireTenantAsync(request.TenantId, cancellationToken);
        var channel = NotificationChannels.FromProto(request.Channel);
        var revived = await repository.ReviveAsync(request.TenantId, request.NotificationId, channel, cancellationToken);
        var notification = await repository.GetAsync(request.TenantId, request.NotificationId, cancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"tenant '{request.TenantId}' has no notification {request.NotificationId}"));
        if (revived == 0)
        {
            var which = channel is null ? "no dead delivery" : $"no dead delivery to {channel}";
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"notification {request.NotificationId} has {which}"));
        }

        return notification;
    }

    private static void ValidateWebhook(string url, string secret)
    {
        if (url.Length == 0)
        {
            if (secret.Length > 0)
            {
                throw RequestValidator.Invalid("webhook_secret must be empty without webhook_url");
            }

            return;
        }

        if (url.Length > MaxWebhookUrlLength)
        {
            throw RequestValidator.Invalid($"webhook_url must be at most {MaxWebhookUrlLength} characters (got {url.Length})");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0 || url.Any(char.IsControl))
        {
            throw RequestValidator.Invalid("webhook_url must be an absolute http:// or https:// URL");
        }

        if (secret.Length > 0 && (secret.Length is < MinWebhookSecretLength or > MaxWebhookSecretLength || secret.Any(c => c is < '!' or > '~')))
        {
            // The message never repeats the secret.
            throw RequestValidator.Invalid(
                $"webhook_secret must be {MinWebhookSecretLength} to {MaxWebhookSecretLength} printable ASCII characters without spaces (got {secret.Length} characters)");
        }
    }

    private static void ValidateEmailAddress(string address)
    {
        if (address.Length == 0)
        {
            return;
        }

        if (address.Length > MaxEmailAddressLength)
        {
            throw RequestValidator.Invalid($"email_address must be at most {MaxEmailAddressLength} characters (got {address.Length})");
        }

        var at = address.IndexOf('@', StringComparison.Ordinal);
        var wellFormed = at > 0 && at < address.Length - 1 && address.IndexOf('@', at + 1) < 0
            && !address.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
            && MailAddress.TryCreate(address, out var parsed) && string.Equals(parsed.Address, address, StringComparison.Ordinal);
        if (!wellFormed)
        {
            throw RequestValidator.Invalid("email_address must be a mail address with exactly one '@' (local-part@domain), without spaces or a display name");
        }
    }

    private static long[] LowBalanceLevels(Google.Protobuf.Collections.RepeatedField<Contracts.V1.Money> levels, string currency)
    {
        if (levels.Count > MaxLowBalanceLevels)
        {
            throw RequestValidator.Invalid($"low_balance_levels must hold at most {MaxLowBalanceLevels} levels (got {levels.Count})");
        }

        var micros = new long[levels.Count];
        for (var index = 0; index < levels.Count; index++)
        {
            var field = $"low_balance_levels[{index}]";
            micros[index] = RequestValidator.PositiveAmount(levels[index], field, currency, MoneyLimits.MaxBalanceMicros);
            if (Array.IndexOf(micros, micros[index], 0, index) >= 0)
            {
                throw RequestValidator.Invalid($"{field} repeats the level {micros[index]}");
            }
        }

        Array.Sort(micros, (left, right) => right.CompareTo(left));
        return micros;
    }

    private static bool IsNotificationId(string key) =>
        long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0;

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static RpcException UnknownTenant(string tenantId) => new(new Status(StatusCode.NotFound, $"tenant '{tenantId}' does not exist"));

    private async Task<TenantProfile> RequireTenantAsync(string tenantId, CancellationToken cancellationToken) =>
        await catalog.GetAsync(tenantId, cancellationToken) ?? throw UnknownTenant(tenantId);

    private async Task<NotificationSettings> GetAsync(string tenantId, string currency, CancellationToken cancellationToken)
    {
        var stored = await repository.GetAsync(tenantId, cancellationToken);
        var message = new NotificationSettings { TenantId = tenantId };
        if (stored is null)
        {
            return message;
        }

        message.WebhookUrl = stored.WebhookUrl ?? string.Empty;
        message.WebhookSecretSet = stored.WebhookSecretSet;
        message.EmailAddress = stored.EmailAddress ?? string.Empty;
        message.LowBalanceLevels.AddRange(stored.LowBalanceLevelsMicros.Select(level => Money(level, currency)));
        message.UpdatedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(stored.UpdatedAt, DateTimeKind.Utc));
        return message;
    }
}
