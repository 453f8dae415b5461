namespace CommsCredits.Gateway.Notifications;

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

/// <summary>
/// Delivers an event as an HTTP POST of its JSON envelope, signed with the tenant's secret. 2xx is delivered; a 4xx
/// other than 408 and 429 is the receiver refusing it for good; anything else is retried.
/// </summary>
public sealed class WebhookChannel(IHttpClientFactory httpClients, IOptions<NotificationsOptions> options)
{
    /// <summary>The named HttpClient (no redirects: a redirected POST would lose its body and its meaning).</summary>
    public const string HttpClientName = "notifications-webhook";

    private readonly NotificationsOptions settings = options.Value;

    public async Task<DeliveryOutcome> DeliverAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        if (delivery.WebhookUrl is null || delivery.WebhookSecret is null)
        {
            return DeliveryOutcome.Refused("the tenant no longer has a webhook set up");
        }

        var body = NotificationEnvelope.Body(delivery);
        if (body.Length > settings.MaxPayloadBytes)
        {
            return DeliveryOutcome.Refused($"the body of {body.Length} bytes exceeds Notifications:MaxPayloadBytes ({settings.MaxPayloadBytes})");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.WebhookUrl) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(NotificationEnvelope.EventIdHeader, delivery.EventId);
        request.Headers.Add(NotificationEnvelope.SignatureHeader, NotificationEnvelope.Signature(delivery.WebhookSecret, body));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.WebhookTimeoutMs);
        try
        {
            // The receiver's body is never read: only its status line counts.
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return Outcome(response.StatusCode);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DeliveryOutcome.Failed($"no answer within Notifications:WebhookTimeoutMs ({settings.WebhookTimeoutMs} ms)");
        }
        catch (HttpRequestException exception)
        {
            // The message names the failure and at most host and port (not the URL's path or query, which may carry a token).
            return DeliveryOutcome.Failed("HTTP request failed: " + (exception.HttpRequestError.ToString() + " " + exception.InnerException?.Message).Trim());
        }
    }

    private static DeliveryOutcome Outcome(HttpStatusCode status)
    {
        var code = (int)status;
        var line = "HTTP " + code.ToString(CultureInfo.InvariantCulture);
        return code switch
        {
            >= 200 and < 300 => DeliveryOutcome.Delivered,
            408 or 429 => DeliveryOutcome.Failed(line),
            >= 400 and < 500 => DeliveryOutcome.Refused(line + ": the receiver refused the event"),
            _ => DeliveryOutcome.Failed(line),
        };
    }
}
