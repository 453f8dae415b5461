namespace CommsCredits.Gateway.Notifications;

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

/// <summary>The notification dispatcher, its channels and the Notifications API. Section "Notifications".</summary>
public sealed class NotificationsOptions
{
    public const string SectionName = "Notifications";

    /// <summary>How long the dispatcher waits between two rounds (one batch of new events, one batch of deliveries).</summary>
    [Range(10, 60_000)]
    public int PollIntervalMs { get; set; } = 1_000;

    /// <summary>Most outbox rows fanned out, and most deliveries claimed, in one round of one gateway.</summary>
    [Range(1, 1_000)]
    public int BatchSize { get; set; } = 50;

    /// <summary>Most deliveries one gateway sends at the same time.</summary>
    [Range(1, 64)]
    public int MaxConcurrentDeliveries { get; set; } = 8;

    /// <summary>Attempts of one delivery before it is dead.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The wait after the first failed attempt; each later one doubles it, up to BackoffMaxMs, with jitter.</summary>
    [Range(1, 3_600_000)]
    public int BackoffBaseMs { get; set; } = 5_000;

    /// <summary>The longest wait between two attempts.</summary>
    [Range(1, 86_400_000)]
    public int BackoffMaxMs { get; set; } = 3_600_000;

    /// <summary>
    /// How long a claimed delivery belongs to the gateway that claimed it; after that (the gateway died mid-batch)
    /// another gateway attempts it again. Must cover a whole batch at the channels' timeouts (checked at start-up).
    /// </summary>
    [Range(1, 86_400)]
    public int ClaimLeaseSeconds { get; set; } = 120;

    /// <summary>Longest wait for a webhook receiver's answer (connect, send, status line).</summary>
    [Range(1, 300_000)]
    public int WebhookTimeoutMs { get; set; } = 10_000;

    /// <summary>Largest webhook body or email text; a bigger event is dead at once.</summary>
    [Range(1_024, 4_194_304)]
    public int MaxPayloadBytes { get; set; } = 65_536;

    /// <summary>The SMTP server that sends email notifications.</summary>
    [Required]
    [MinLength(1)]
    public string SmtpHost { get; set; } = "127.0.0.1";

    [Range(1, 65_535)]
    public int SmtpPort { get; set; } = 25;

    /// <summary>SMTP user name; empty for no authentication (then SmtpPassword must be empty too).</summary>
    public string SmtpUser { get; set; } = string.Empty;

    public string SmtpPassword { get; set; } = string.Empty;

    /// <summary>Whether to upgrade the SMTP connection with STARTTLS.</summary>
    public bool SmtpEnableTls { get; set; }

    /// <summary>The From address of notification emails.</summary>
    [Required]
    [EmailAddress]
    public string SmtpFromAddress { get; set; } = "commscredits@localhost";

    /// <summary>Longest wait for one email's whole SMTP conversation.</summary>
    [Range(1, 300_000)]
    public int SmtpTimeoutMs { get; set; } = 10_000;

    /// <summary>Notifications in a ListNotifications page when the request asks for 0.</summary>
    [Range(1, 10_000)]
    public int DefaultPageSize { get; set; } = 100;

    /// <summary>Most notifications a ListNotifications page may ask for.</summary>
    [Range(1, 10_000)]
    public int MaxPageSize { get; set; } = 1_000;
}

/// <summary>The rules between the Notifications settings.</summary>
public sealed class NotificationsOptionsValidator : IValidateOptions<NotificationsOptions>
{
    public ValidateOptionsResult Validate(string? name, NotificationsOptions options)
    {
        if (options.BackoffBaseMs > options.BackoffMaxMs)
        {
            return ValidateOptionsResult.Fail($"Notifications:BackoffBaseMs ({options.BackoffBaseMs}) must not exceed Notifications:BackoffMaxMs ({options.BackoffMaxMs})");
        }

        if (options.DefaultPageSize > options.MaxPageSize)
        {
            return ValidateOptionsResult.Fail($"Notifications:DefaultPageSize ({options.DefaultPageSize}) must not exceed Notifications:MaxPageSize ({options.MaxPageSize})");
        }

        if (options.SmtpUser.Length == 0 && options.SmtpPassword.Length > 0)
        {
            return ValidateOptionsResult.Fail("Notifications:SmtpPassword is set without Notifications:SmtpUser");
        }

        // A lease that ends while its batch is still being sent lets a second gateway send the same events again.
        var rounds = (options.BatchSize + options.MaxConcurrentDeliveries - 1) / options.MaxConcurrentDeliveries;
        var batchMs = (long)rounds * Math.Max(options.WebhookTimeoutMs, options.SmtpTimeoutMs);
        if (batchMs >= options.ClaimLeaseSeconds * 1_000L)
        {
            return ValidateOptionsResult.Fail(
                $"Notifications:ClaimLeaseSeconds ({options.ClaimLeaseSeconds}) must exceed the time a batch can take at the channel timeouts " +
                $"({batchMs} ms: BatchSize / MaxConcurrentDeliveries rounds of the longer of WebhookTimeoutMs and SmtpTimeoutMs)");
        }

        return ValidateOptionsResult.Success;
    }
}
