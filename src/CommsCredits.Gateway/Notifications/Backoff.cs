namespace CommsCredits.Gateway.Notifications;

/// <summary>The wait before the next attempt of a delivery: exponential, capped, with jitter.</summary>
public static class Backoff
{
    /// <summary>
    /// After failed attempt n (1-based): BackoffBaseMs × 2^(n−1), at most BackoffMaxMs, then a random half of it
    /// taken off ("equal jitter"), so receivers that fail together are not retried together.
    /// </summary>
    public static TimeSpan Delay(int failedAttempts, NotificationsOptions settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        // 2^30 ms is past any BackoffMaxMs allowed, so the exponent is capped before it can overflow.
        var exponent = Math.Min(failedAttempts - 1, 30);
        var ceilingMs = Math.Min((double)settings.BackoffBaseMs * (1L << exponent), settings.BackoffMaxMs);
        return TimeSpan.FromMilliseconds((ceilingMs / 2) + (Random.Shared.NextDouble() * ceilingMs / 2));
    }
}
