namespace CommsCredits.Gateway.Notifications;

using System.Net;
using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

/// <summary>
/// Delivers an event as one plain-text email through the configured SMTP server. Delivered means the server answered
/// 250 to the message; every failure is retried (a 5xx may be a passing misconfiguration of the server).
/// </summary>
public sealed class EmailChannel(IOptions<NotificationsOptions> options)
{
    private readonly NotificationsOptions settings = options.Value;

    public async Task<DeliveryOutcome> DeliverAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        if (delivery.EmailAddress is null)
        {
            return DeliveryOutcome.Refused("the tenant no longer has an email address set up");
        }

        var (subject, body) = EmailText.For(delivery);
        if (Encoding.UTF8.GetByteCount(body) > settings.MaxPayloadBytes)
        {
            return DeliveryOutcome.Refused($"the email text exceeds Notifications:MaxPayloadBytes ({settings.MaxPayloadBytes})");
        }

        using var message = new MailMessage(settings.SmtpFromAddress, delivery.EmailAddress, subject, body)
        {
            BodyEncoding = Encoding.UTF8,
            SubjectEncoding = Encoding.UTF8,
        };
        // The same event always has the same Message-ID, so a mail system can drop the copy a retry sends.
        message.Headers.Add("Message-ID", MessageId(delivery));
        message.Headers.Add(NotificationEnvelope.EventIdHeader, delivery.EventId);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.SmtpTimeoutMs);
        try
        {
            using var client = Client();
            await client.SendMailAsync(message, timeout.Token);
            return DeliveryOutcome.Delivered;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DeliveryOutcome.Failed($"no answer within Notifications:SmtpTimeoutMs ({settings.SmtpTimeoutMs} ms)");
        }
        catch (SmtpException exception)
        {
            return DeliveryOutcome.Failed($"SMTP {(int)exception.StatusCode}: {exception.Message} {exception.InnerException?.Message}".Trim());
        }
    }

    /// <summary>&lt;hash@commscredits.invalid&gt;: event ids may hold characters a Message-ID may not.</summary>
    public static string MessageId(ClaimedDelivery delivery)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(delivery.TenantId + "\n" + delivery.EventId));
        return "<" + Convert.ToHexStringLower(hash.AsSpan(0, 16)) + "@commscredits.invalid>";
    }

    // The issue asks for the framework's SMTP client (MailKit could not be restored here either when this was written). Its documentation
    // advises against it for new code, but it carries no [Obsolete] attribute in .NET 10: nothing to suppress.
    private SmtpClient Client()
    {
        var client = new SmtpClient(settings.SmtpHost, settings.SmtpPort)
        {
            EnableSsl = settings.SmtpEnableTls,
            DeliveryMethod = SmtpDeliveryMethod.Network,
            Timeout = settings.SmtpTimeoutMs,
        };
        if (settings.SmtpUser.Length > 0)
        {
            client.Credentials = new NetworkCredential(settings.SmtpUser, settings.SmtpPassword);
        }

        return client;
    }
}
