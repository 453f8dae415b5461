namespace CommsCredits.Gateway.Notifications;

/// <summary>What one attempt of a delivery came to.</summary>
public enum DeliveryResult
{
    /// <summary>The receiver accepted it (HTTP 2xx, SMTP 250).</summary>
    Delivered,

    /// <summary>It may work later: a timeout, a refused connection, a 5xx, a 408 or 429.</summary>
    Failed,

    /// <summary>It will never work: the receiver refused it (a 4xx), or the event cannot be sent as it is.</summary>
    Refused,
}

/// <summary>The result of one attempt.</summary>
/// <param name="Result">Delivered, failed (retry) or refused (dead at once).</param>
/// <param name="Error">Why it failed, for last_error and the logs: never a secret, a URL or a credential.</param>
public readonly record struct DeliveryOutcome(DeliveryResult Result, string? Error)
{
    public static DeliveryOutcome Delivered { get; } = new(DeliveryResult.Delivered, null);

    public static DeliveryOutcome Failed(string error) => new(DeliveryResult.Failed, NotificationChannels.BoundedError(error));

    public static DeliveryOutcome Refused(string error) => new(DeliveryResult.Refused, NotificationChannels.BoundedError(error));
}
