namespace CommsCredits.Tests.Notifications;

using CommsCredits.Gateway.Notifications;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Options;
using Shouldly;
using Xunit;

/// <summary>The retry schedule and the start-up checks of the Notifications settings.</summary>
public sealed class BackoffTests
{
    [Fact]
    public void The_wait_doubles_from_the_base_up_to_the_maximum_with_at_most_half_taken_off()
    {
        // Proves the backoff for any attempt and settings: the wait lies between half and all of
        // min(base × 2^(attempt−1), max), so it grows exponentially, never passes the maximum, and is jittered.
        Prop.ForAll(
            Gen.Choose(1, 200).ToArbitrary(),
            Gen.Choose(1, 100_000).ToArbitrary(),
            Gen.Choose(1, 3_600_000).ToArbitrary(),
            (attempt, baseMs, extraMs) =>
            {
                var settings = new NotificationsOptions { BackoffBaseMs = baseMs, BackoffMaxMs = baseMs + extraMs };
                var ceilingMs = Math.Min(baseMs * Math.Pow(2, attempt - 1), settings.BackoffMaxMs);
                var delayMs = Backoff.Delay(attempt, settings).TotalMilliseconds;
                return delayMs >= (ceilingMs / 2) - 0.01 && delayMs <= ceilingMs + 0.01;
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Settings_whose_lease_cannot_cover_a_batch_are_refused_naming_the_setting()
    {
        // Proves the start-up check that keeps a lease from ending while its batch is still being sent (which would
        // let another gateway send the same events again), and the other rules between settings.
        var validator = new NotificationsOptionsValidator();
        validator.Validate(null, new NotificationsOptions()).Succeeded.ShouldBeTrue();
        var shortLease = validator.Validate(null, new NotificationsOptions { BatchSize = 100, MaxConcurrentDeliveries = 1, WebhookTimeoutMs = 10_000 });
        shortLease.Failed.ShouldBeTrue();
        shortLease.FailureMessage!.ShouldContain("Notifications:ClaimLeaseSeconds");
        validator.Validate(null, new NotificationsOptions { BackoffBaseMs = 10, BackoffMaxMs = 5 }).FailureMessage!.ShouldContain("Notifications:BackoffBaseMs");
        validator.Validate(null, new NotificationsOptions { SmtpPassword = "pw" }).FailureMessage!.ShouldContain("Notifications:SmtpPassword");
        validator.Validate(null, new NotificationsOptions { DefaultPageSize = 10, MaxPageSize = 5 }).FailureMessage!.ShouldContain("Notifications:DefaultPageSize");
    }
}
