namespace CommsCredits.Tests.Notifications;

using System.Text.Json;
using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Charging;
using Dapper;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Notifications.NotificationsGateway;

/// <summary>The dispatcher: outbox rows written as the producers write them reach real receivers on loopback.</summary>
public sealed class NotificationDeliveryTests
{
    private const string Secret = "whsec-0123456789abcdef-never-shown";

    private static readonly (string Kind, string Payload)[] Events =
    [
        ("recharge_succeeded", """{"recharge_id": "r-1", "amount_micros": 50000000, "currency": "EUR", "balance_micros": 62500000}"""),
        ("recharge_failed", """{"recharge_id": "r-2", "amount_micros": 50000000, "currency": "EUR", "reason": "card expired"}"""),
        ("balance_reached_zero", """{"currency": "EUR"}"""),
        ("funds_expired", """{"amount_micros": 1250000, "currency": "EUR", "lot": "ignored"}"""),
        ("low_balance", """{"level_micros": 20000000, "balance_micros": 19500000, "currency": "EUR"}"""),
    ];

    [Fact]
    public async Task Each_event_arrives_once_per_channel_with_its_id_a_signature_that_verifies_and_its_words()
    {
        // Proves the two channels end to end: every kind of event reaches the webhook once (JSON envelope with the
        // stored payload, the event id header, an HMAC-SHA256 signature a receiver can check) and the mailbox once
        // (subject and amounts in words, event id and Message-ID headers), and nothing is sent again afterwards.
        var gateway = await GetAsync();
        var smtp = await SmtpAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        var mailbox = tenant + "@tenants.test";
        await Client(gateway).SetNotificationSettingsAsync(new SetNotificationSettingsRequest
        {
            TenantId = tenant, WebhookUrl = receiver.Url, WebhookSecret = Secret, EmailAddress = mailbox,
        });
        var occurredAt = new DateTimeOffset(2026, 11, 22, 5, 0, 0, 123, TimeSpan.Zero);
        var ids = new List<long>();
        foreach (var (kind, payload) in Events)
        {
            ids.Add(await InsertEventAsync(gateway, tenant, kind, "7.42:" + kind, payload, occurredAt));
        }

        foreach (var id in ids)
        {
            await WaitForAsync(gateway, tenant, id, n => AllDelivered(n, 2));
        }

        await Task.Delay(500);
        receiver.Received.Count.ShouldBe(Events.Length);
        foreach (var (kind, payload) in Events)
        {
            var request = receiver.Received.Single(r => string.Equals(r.EventIdHeader, "7.42:" + kind, StringComparison.Ordinal));
            request.Method.ShouldBe("POST");
            request.ContentType.ShouldStartWith("application/json");
            request.Signature.ShouldBe(ExpectedSignature(Secret, request.Body));
            using var body = JsonDocument.Parse(request.Body);
            var root = body.RootElement;
            root.GetProperty("event_id").GetString().ShouldBe("7.42:" + kind);
            root.GetProperty("tenant_id").GetString().ShouldBe(tenant);
            root.GetProperty("kind").GetString().ShouldBe(kind);
            root.GetProperty("occurred_at").GetString().ShouldBe("2026-11-22T05:00:00.123Z");
            using var stored = JsonDocument.Parse(payload);
            JsonElement.DeepEquals(root.GetProperty("payload"), stored.RootElement).ShouldBeTrue();
        }

        var mails = smtp.For(mailbox);
        mails.Count.ShouldBe(Events.Length);
        mails.Select(m => m.Header("X-CommsCredits-Event-Id")).ShouldBe(Events.Select(e => "7.42:" + e.Kind), ignoreOrder: true);
        mails.Select(m => m.Header("Message-ID")).Distinct(StringComparer.Ordinal).Count().ShouldBe(Events.Length);
        mails.ShouldAllBe(m => System.Text.RegularExpressions.Regex.IsMatch(m.Header("Message-ID")!, "^<[0-9a-f]{32}@commscredits[.]invalid>$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1)));
        mails.ShouldAllBe(m => m.Data.Split("\r\n", StringSplitOptions.None).Count(line => line.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase)) == 1);
        mails.ShouldAllBe(m => m.From == "billing@commscredits.test");
        Mail(mails, "recharge_succeeded").Header("Subject").ShouldBe("CommsCredits: auto-recharge succeeded");
        Mail(mails, "recharge_succeeded").Body.ShouldContain("An auto-recharge of 50.00 EUR succeeded. The balance is now 62.50 EUR.");
        Mail(mails, "recharge_failed").Body.ShouldContain("An auto-recharge of 50.00 EUR failed: card expired.");
        Mail(mails, "balance_reached_zero").Header("Subject").ShouldBe("CommsCredits: balance reached zero");
        Mail(mails, "funds_expired").Body.ShouldContain("1.25 EUR of funds reached their expiry");
        Mail(mails, "low_balance").Body.ShouldContain("The balance fell below 20.00 EUR: it is now 19.50 EUR.");
        Mail(mails, "low_balance").Body.ShouldContain("Tenant " + tenant);
        gateway.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_receiver_that_fails_twice_gets_the_event_on_the_third_attempt_and_then_never_again()
    {
        // Proves retries with backoff on both channels: a webhook answering 500, 503, then 200, and a mail server
        // answering 451 twice, each get the same event on the third attempt, exactly once after they accepted it.
        var gateway = await GetAsync();
        var smtp = await SmtpAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Status = (_, attempt) => attempt switch { 1 => 500, 2 => 503, _ => 200 };
        var tenant = await gateway.CreateEmptyTenantAsync();
        var mailbox = tenant + "@tenants.test";
        smtp.FailNext(mailbox, 2);
        await Client(gateway).SetNotificationSettingsAsync(new SetNotificationSettingsRequest
        {
            TenantId = tenant, WebhookUrl = receiver.Url, WebhookSecret = Secret, EmailAddress = mailbox,
        });

        var id = await InsertEventAsync(gateway, tenant, "balance_reached_zero", "9.1:balance_reached_zero", """{"currency": "EUR"}""");
        var delivered = await WaitForAsync(gateway, tenant, id, n => AllDelivered(n, 2));

        delivered.Deliveries.ShouldAllBe(d => d.Attempts == 3 && d.DeliveredAt != null);
        delivered.Deliveries.Single(d => d.Channel == NotificationChannel.Webhook).LastError.ShouldBe("HTTP 503");
        await Task.Delay(500);
        receiver.Received.Select(r => r.AnsweredStatus).ShouldBe([500, 503, 200]);
        receiver.Received.Select(r => Convert.ToBase64String(r.Body)).Distinct(StringComparer.Ordinal).Count().ShouldBe(1);
        smtp.AttemptsFor(mailbox).ShouldBe(3);
        smtp.For(mailbox).Count.ShouldBe(1);
        gateway.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_receiver_that_always_fails_makes_the_delivery_dead_and_RetryNotification_revives_it()
    {
        // Proves the dead letter: after MaxAttempts failures the delivery is dead (logged at Warning with the
        // notification id and never the secret), stays dead, and RetryNotification puts it back to pending so the
        // now healthy receiver gets it; retrying a delivered one is FAILED_PRECONDITION, an unknown one NOT_FOUND.
        var gateway = await GetAsync();
        var client = Client(gateway);
        await using var receiver = await WebhookReceiver.StartAsync();
        var healthy = false;
        receiver.Status = (_, _) => Volatile.Read(ref healthy) ? 204 : 500;
        var tenant = await gateway.CreateEmptyTenantAsync();
        await client.SetNotificationSettingsAsync(Webhook(tenant, receiver.Url, Secret));

        var id = await InsertEventAsync(gateway, tenant, "funds_expired", "3.3:funds_expired", """{"amount_micros": 5, "currency": "EUR"}""");
        var dead = await WaitForAsync(gateway, tenant, id, n => n.Deliveries.Count == 1 && n.Deliveries[0].Status == DeliveryStatus.Dead);
        dead.Deliveries[0].Attempts.ShouldBe((uint)MaxAttempts);
        dead.Deliveries[0].LastError.ShouldBe("HTTP 500");
        await Task.Delay(400);
        receiver.Received.Count.ShouldBe(MaxAttempts);
        var warning = gateway.Errors.Warnings.Where(w => w.Contains("Notification " + id + " ", StringComparison.Ordinal)).ShouldHaveSingleItem();
        warning.ShouldContain("dead after 3 attempts");
        gateway.Errors.Warnings.ShouldAllBe(w => !w.Contains(Secret, StringComparison.Ordinal));

        Volatile.Write(ref healthy, true);
        var revived = await client.RetryNotificationAsync(new RetryNotificationRequest { TenantId = tenant, NotificationId = id });
        // The dispatcher polls every 50 ms: by the time the answer is read it may already have delivered it.
        revived.Deliveries[0].Status.ShouldNotBe(DeliveryStatus.Dead);
        revived.Deliveries[0].Attempts.ShouldBeLessThanOrEqualTo(1u);
        var delivered = await WaitForAsync(gateway, tenant, id, n => AllDelivered(n, 1));
        delivered.Deliveries[0].Attempts.ShouldBe(1u);
        receiver.Received.Count.ShouldBe(MaxAttempts + 1);

        var again = await Should.ThrowAsync<CommsCredits.Grpc.Protocol.RpcException>(
            client.RetryNotificationAsync(new RetryNotificationRequest { TenantId = tenant, NotificationId = id, Channel = NotificationChannel.Webhook }));
        again.StatusCode.ShouldBe(CommsCredits.Grpc.Protocol.StatusCode.FailedPrecondition);
        var unknown = await Should.ThrowAsync<CommsCredits.Grpc.Protocol.RpcException>(
            client.RetryNotificationAsync(new RetryNotificationRequest { TenantId = tenant, NotificationId = id + 1_000_000 }));
        unknown.StatusCode.ShouldBe(CommsCredits.Grpc.Protocol.StatusCode.NotFound);
        gateway.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_4xx_refusal_is_dead_at_once_while_408_and_429_are_retried()
    {
        // Proves the webhook's reading of statuses: 400 and 410 mean the receiver refuses the event (dead after one
        // attempt), but 408 and 429 mean "later" and are retried until accepted.
        var gateway = await GetAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Status = (eventId, attempt) => (eventId, attempt) switch
        {
            ("e:400", _) => 400,
            ("e:410", _) => 410,
            ("e:408", 1) => 408,
            ("e:429", 1) => 429,
            _ => 200,
        };
        var tenant = await gateway.CreateEmptyTenantAsync();
        await Client(gateway).SetNotificationSettingsAsync(Webhook(tenant, receiver.Url, Secret));
        var payload = """{"currency": "EUR"}""";
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var eventId in new[] { "e:400", "e:410", "e:408", "e:429" })
        {
            ids[eventId] = await InsertEventAsync(gateway, tenant, "balance_reached_zero", eventId, payload);
        }

        foreach (var refused in new[] { "e:400", "e:410" })
        {
            var dead = await WaitForAsync(gateway, tenant, ids[refused], n => n.Deliveries.Count == 1 && n.Deliveries[0].Status == DeliveryStatus.Dead);
            dead.Deliveries[0].Attempts.ShouldBe(1u);
            dead.Deliveries[0].LastError.ShouldStartWith("HTTP " + refused[2..]);
        }

        foreach (var later in new[] { "e:408", "e:429" })
        {
            (await WaitForAsync(gateway, tenant, ids[later], n => AllDelivered(n, 1))).Deliveries[0].Attempts.ShouldBe(2u);
        }

        await Task.Delay(300);
        receiver.Received.Count.ShouldBe(6);
        gateway.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_delivery_left_claimed_by_a_gateway_that_died_is_sent_again_with_the_same_event_id_once_its_lease_ends()
    {
        // Proves at least once across a crash: a delivery claimed (its attempt counted, its lease running) by a
        // gateway that died before it recorded the outcome is left alone while the lease runs, then sent by a live
        // gateway as the second attempt, with the event's id, once.
        var gateway = await GetAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        await Client(gateway).SetNotificationSettingsAsync(Webhook(tenant, receiver.Url, Secret));
        long id;
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            id = await connection.ExecuteScalarAsync<long>(
                """
                WITH o AS (
                    INSERT INTO notification_outbox (tenant_id, kind, event_id, payload, occurred_at, deliveries_created_at)
                    VALUES (@tenant, 'balance_reached_zero', 'crash:1', '{"currency": "EUR"}', now(), now())
                    RETURNING notification_id)
                INSERT INTO notification_deliveries (notification_id, channel, attempts, claimed_until)
                SELECT notification_id, 'webhook', 1, now() + interval '1500 milliseconds' FROM o
                RETURNING notification_id
                """,
                new { tenant });
        }

        await Task.Delay(1_000);
        receiver.Received.ShouldBeEmpty();
        var delivered = await WaitForAsync(gateway, tenant, id, n => AllDelivered(n, 1));
        delivered.Deliveries[0].Attempts.ShouldBe(2u);
        await Task.Delay(300);
        receiver.Received.Select(r => r.EventIdHeader).ShouldBe(["crash:1"]);
    }

    [Fact]
    public async Task Two_gateways_dispatching_the_same_outbox_deliver_each_event_once()
    {
        // Proves SKIP LOCKED and the claim: a second gateway on the same database dispatches at the same time (in
        // batches of 10, against a receiver slow enough for their rounds to overlap), and each of 60 events still
        // reaches the receiver exactly once.
        var gateway = await GetAsync();
        await using var other = await GatewayInstance.StartAlongsideAsync(gateway, await SettingsAsync());
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.DelayMs = 20;
        var tenant = await gateway.CreateEmptyTenantAsync();
        await Client(gateway).SetNotificationSettingsAsync(Webhook(tenant, receiver.Url, Secret));

        var ids = new List<long>();
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            ids.AddRange(await connection.QueryAsync<long>(
                """
                INSERT INTO notification_outbox (tenant_id, kind, event_id, payload, occurred_at)
                SELECT @tenant, 'low_balance', 'burst:' || n, '{"level_micros": 1, "balance_micros": 0, "currency": "EUR"}', now()
                FROM generate_series(1, 60) AS n
                RETURNING notification_id
                """,
                new { tenant }));
        }

        foreach (var id in ids)
        {
            await WaitForAsync(gateway, tenant, id, n => AllDelivered(n, 1), timeoutMs: 20_000);
        }

        await Task.Delay(300);
        receiver.Received.Count.ShouldBe(60);
        receiver.Received.Select(r => r.EventIdHeader).Distinct(StringComparer.Ordinal).Count().ShouldBe(60);
        gateway.Errors.Entries.ShouldBeEmpty();
        other.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task Deliveries_follow_the_channels_set_up_when_the_dispatcher_first_sees_the_event()
    {
        // Proves the fan-out rule: an event of a tenant with no channel is kept in the outbox with no delivery (and
        // gets none when a webhook is set up later), while an event written after the webhook was set up is sent.
        var gateway = await GetAsync();
        var client = Client(gateway);
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        var early = await InsertEventAsync(gateway, tenant, "balance_reached_zero", "1.1:balance_reached_zero", """{"currency": "EUR"}""");
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (await connection.ExecuteScalarAsync<bool>("SELECT deliveries_created_at IS NULL FROM notification_outbox WHERE notification_id = @early", new { early }))
            {
                DateTime.UtcNow.ShouldBeLessThan(deadline);
                await Task.Delay(25);
            }
        }

        await client.SetNotificationSettingsAsync(Webhook(tenant, receiver.Url, Secret));
        var late = await InsertEventAsync(gateway, tenant, "balance_reached_zero", "1.2:balance_reached_zero", """{"currency": "EUR"}""");
        await WaitForAsync(gateway, tenant, late, n => AllDelivered(n, 1));
        await Task.Delay(300);

        var page = await client.ListNotificationsAsync(new ListNotificationsRequest { TenantId = tenant });
        page.Notifications.Single(n => n.NotificationId == early).Deliveries.ShouldBeEmpty();
        receiver.Received.Select(r => r.EventIdHeader).ShouldBe(["1.2:balance_reached_zero"]);
    }

    private static ReceivedMail Mail(IReadOnlyList<ReceivedMail> mails, string kind) =>
        mails.Single(m => string.Equals(m.Header("X-CommsCredits-Event-Id"), "7.42:" + kind, StringComparison.Ordinal));
}
