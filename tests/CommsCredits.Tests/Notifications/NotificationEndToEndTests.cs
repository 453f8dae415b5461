namespace CommsCredits.Tests.Notifications;

using System.Text.Json;
using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;
using static CommsCredits.Tests.Notifications.NotificationsGateway;

/// <summary>From a call to the tenant's webhook: producers, the recharge worker and the dispatcher together.</summary>
public sealed class NotificationEndToEndTests
{
    private const long Euro = 1_000_000;
    private const string Secret = "whsec-end-to-end-0123456789";

    [Fact]
    public async Task A_call_that_spends_the_balance_warns_reaches_zero_and_the_recharge_that_follows_each_reach_the_webhook_once()
    {
        // Proves the whole chain with nothing simulated: a 10-unit tenant with a 5-unit warning level and auto-recharge
        // (trigger 3, 50 units, the sandbox's good card) spends everything in one debit. The webhook receives, once
        // each and signed: low_balance (level 5, balance 0), balance_reached_zero, and recharge_succeeded (50 units,
        // balance 50) from the gateway's own recharge worker.
        var gateway = await GetAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await gateway.CreateTenantAsync(10 * Euro, Rate("44", Euro, first: 60, next: 60));
        var settings = Webhook(tenant, receiver.Url, Secret);
        settings.LowBalanceLevels.Add(new Money { AmountMicros = 5 * Euro, Currency = "EUR" });
        await Client(gateway).SetNotificationSettingsAsync(settings);
        await gateway.Accounts.SetAutoRechargeAsync(new SetAutoRechargeRequest
        {
            TenantId = tenant, Enabled = true, Trigger = new Money { AmountMicros = 3 * Euro, Currency = "EUR" },
            Recharge = new Money { AmountMicros = 50 * Euro, Currency = "EUR" }, PaymentMethodReference = "pm_sandbox_ok",
        });
        await gateway.DirectoryLoadedAsync(tenant);

        var debit = await gateway.Charging.DebitAsync(new DebitRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller,
            CalledNumber = UkFixed, UsedSeconds = 600,
        });
        debit.Charged.AmountMicros.ShouldBe(10 * Euro);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (receiver.Received.Count < 3)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"the webhook got {receiver.Received.Count} of 3 events in 20 s");
            await Task.Delay(50);
        }

        await Task.Delay(500);
        var events = receiver.Received.Select(request =>
        {
            request.Signature.ShouldBe(ExpectedSignature(Secret, request.Body));
            using var envelope = JsonDocument.Parse(request.Body);
            var payload = envelope.RootElement.GetProperty("payload");
            return (Kind: envelope.RootElement.GetProperty("kind").GetString()!, Payload: payload.GetRawText());
        }).OrderBy(e => e.Kind, StringComparer.Ordinal).ToList();
        events.Select(e => e.Kind).ShouldBe(["balance_reached_zero", "low_balance", "recharge_succeeded"]);
        events[1].Payload.ShouldContain("\"level_micros\": 5000000");
        events[2].Payload.ShouldContain("\"balance_micros\": 50000000");
        (await gateway.RedisAccountAsync(tenant))!.Value.Balance.ShouldBe(50 * Euro);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }
}
