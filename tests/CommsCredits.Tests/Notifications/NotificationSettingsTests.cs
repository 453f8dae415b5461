namespace CommsCredits.Tests.Notifications;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Dapper;
using Google.Protobuf;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Notifications.NotificationsGateway;

/// <summary>The Notifications API: settings, their validation, and the list of notifications.</summary>
public sealed class NotificationSettingsTests
{
    private const string Secret = "s3cret-of-the-tenant-0123456789";

    [Fact]
    public async Task Settings_are_stored_and_returned_without_the_secret_and_every_gateway_is_told()
    {
        // Proves the settings round trip: levels come back highest first, the secret never comes back (only that
        // one is set), an empty secret with a URL keeps the stored one, clearing forgets it; each change raises the
        // tenant's directory revision and sends the directory-changed notification, in the same transaction.
        var gateway = await GetAsync();
        var client = Client(gateway);
        var tenant = await gateway.CreateEmptyTenantAsync();
        await using var listener = new NpgsqlConnection(gateway.PostgresConnectionString);
        await listener.OpenAsync();
        var heard = new List<string>();
        listener.Notification += (_, notification) => heard.Add(notification.Payload);
        await listener.ExecuteAsync("LISTEN " + CommsCredits.Gateway.Provisioning.DirectoryRepository.DirectoryChangedChannel);
        var revision = await DirectoryRevisionAsync(gateway, tenant);

        var request = new SetNotificationSettingsRequest
        {
            TenantId = tenant, WebhookUrl = "https://hooks.example.com/cc?x=1", WebhookSecret = Secret, EmailAddress = "ops@example.com",
            LowBalanceLevels = { Eur(5_000_000), Eur(20_000_000), Eur(10_000_000) },
        };
        var stored = await client.SetNotificationSettingsAsync(request);
        var read = await client.GetNotificationSettingsAsync(new GetNotificationSettingsRequest { TenantId = tenant });
        foreach (var settings in new[] { stored, read })
        {
            settings.WebhookUrl.ShouldBe("https://hooks.example.com/cc?x=1");
            settings.WebhookSecretSet.ShouldBeTrue();
            settings.EmailAddress.ShouldBe("ops@example.com");
            settings.LowBalanceLevels.Select(level => level.AmountMicros).ShouldBe([20_000_000L, 10_000_000L, 5_000_000L]);
            settings.LowBalanceLevels.ShouldAllBe(level => level.Currency == "EUR");
            settings.UpdatedAt.ShouldNotBeNull();
            settings.ToByteString().ToStringUtf8().ShouldNotContain(Secret);
        }

        (await DirectoryRevisionAsync(gateway, tenant)).ShouldBe(revision + 1);
        // Other tests change other tenants on the same database: wait for this tenant's notification among theirs.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!heard.Contains(tenant, StringComparer.Ordinal) && DateTime.UtcNow < deadline)
        {
            await listener.WaitAsync(TimeSpan.FromMilliseconds(200));
        }

        heard.ShouldContain(payload => string.Equals(payload, tenant, StringComparison.Ordinal));

        await client.SetNotificationSettingsAsync(new SetNotificationSettingsRequest { TenantId = tenant, WebhookUrl = "http://hooks.example.com/v2" });
        (await StoredSecretAsync(gateway, tenant)).ShouldBe(Secret);
        (await DirectoryRevisionAsync(gateway, tenant)).ShouldBe(revision + 2);

        var cleared = await client.SetNotificationSettingsAsync(new SetNotificationSettingsRequest { TenantId = tenant });
        cleared.WebhookUrl.ShouldBeEmpty();
        cleared.WebhookSecretSet.ShouldBeFalse();
        cleared.EmailAddress.ShouldBeEmpty();
        cleared.LowBalanceLevels.ShouldBeEmpty();
        (await StoredSecretAsync(gateway, tenant)).ShouldBeNull();
        gateway.Errors.Warnings.ShouldAllBe(w => !w.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_settings_are_refused_naming_the_field_and_change_nothing()
    {
        // Proves validation: each bad field gets INVALID_ARGUMENT naming it (never echoing a secret), and neither the
        // stored settings nor the directory revision move; an unknown tenant is NOT_FOUND.
        var gateway = await GetAsync();
        var client = Client(gateway);
        var tenant = await gateway.CreateEmptyTenantAsync();
        var fresh = await gateway.CreateEmptyTenantAsync();
        var good = new SetNotificationSettingsRequest { TenantId = tenant, WebhookUrl = "https://ok.example/hook", WebhookSecret = Secret, EmailAddress = "a@b.example" };
        await client.SetNotificationSettingsAsync(good);
        var before = await client.GetNotificationSettingsAsync(new GetNotificationSettingsRequest { TenantId = tenant });
        var revision = await DirectoryRevisionAsync(gateway, tenant);

        var cases = new (string Field, Action<SetNotificationSettingsRequest> Spoil)[]
        {
            ("webhook_url", r => r.WebhookUrl = "ftp://files.example/hook"),
            ("webhook_url", r => r.WebhookUrl = "/relative/hook"),
            ("webhook_url", r => r.WebhookUrl = "https://" + new string('a', 2_100) + ".example"),
            ("webhook_secret", r => r.WebhookSecret = "short-secret-15"),
            ("webhook_secret", r => r.WebhookSecret = new string('k', 257)),
            ("webhook_secret", r => r.WebhookSecret = "has spaces in the secret"),
            ("webhook_secret", r => r.WebhookUrl = string.Empty),
            ("email_address", r => r.EmailAddress = "nobody"),
            ("email_address", r => r.EmailAddress = "a@b@c.example"),
            ("email_address", r => r.EmailAddress = "a b@c.example"),
            ("email_address", r => r.EmailAddress = "@c.example"),
            ("low_balance_levels", r => r.LowBalanceLevels.AddRange(Enumerable.Range(1, 11).Select(n => Eur(n * 1_000_000L)))),
            ("low_balance_levels[1].currency", r => r.LowBalanceLevels.AddRange([Eur(1), new Money { AmountMicros = 2, Currency = "USD" }])),
            ("low_balance_levels[0].amount_micros", r => r.LowBalanceLevels.Add(Eur(0))),
            ("low_balance_levels[0].amount_micros", r => r.LowBalanceLevels.Add(Eur(-5))),
            ("low_balance_levels[2]", r => r.LowBalanceLevels.AddRange([Eur(3), Eur(2), Eur(3)])),
        };
        foreach (var (field, spoil) in cases)
        {
            var request = good.Clone();
            spoil(request);
            var refused = await Should.ThrowAsync<RpcException>(client.SetNotificationSettingsAsync(request));
            refused.StatusCode.ShouldBe(StatusCode.InvalidArgument, field);
            refused.Status.Detail.ShouldStartWith(field, customMessage: refused.Status.Detail);
            refused.Status.Detail.ShouldNotContain(request.WebhookSecret.Length > 0 ? request.WebhookSecret : "\u0000");
        }

        var noSecret = await Should.ThrowAsync<RpcException>(client.SetNotificationSettingsAsync(
            new SetNotificationSettingsRequest { TenantId = fresh, WebhookUrl = "https://ok.example/hook" }));
        noSecret.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        noSecret.Status.Detail.ShouldStartWith("webhook_secret");
        var unknown = await Should.ThrowAsync<RpcException>(client.SetNotificationSettingsAsync(new SetNotificationSettingsRequest { TenantId = "t-nobody-here" }));
        unknown.StatusCode.ShouldBe(StatusCode.NotFound);

        (await client.GetNotificationSettingsAsync(new GetNotificationSettingsRequest { TenantId = tenant })).ShouldBe(before);
        (await client.GetNotificationSettingsAsync(new GetNotificationSettingsRequest { TenantId = fresh })).WebhookUrl.ShouldBeEmpty();
        (await DirectoryRevisionAsync(gateway, tenant)).ShouldBe(revision);
    }

    [Fact]
    public async Task ListNotifications_pages_newest_first_and_refuses_bad_pages()
    {
        // Proves keyset paging: 7 events come back newest first in pages of 3, 3 and 1, each once, with the stored
        // kind, event id and payload; a made-up page token and an oversized page are INVALID_ARGUMENT.
        var gateway = await GetAsync();
        var client = Client(gateway);
        var tenant = await gateway.CreateEmptyTenantAsync();
        var ids = new List<long>();
        for (var n = 0; n < 7; n++)
        {
            ids.Add(await InsertEventAsync(gateway, tenant, "low_balance", $"page:{n}", $$"""{"level_micros": {{n + 1}}, "balance_micros": 0, "currency": "EUR"}"""));
        }

        var seen = new List<Notification>();
        var sizes = new List<int>();
        var token = string.Empty;
        do
        {
            var page = await client.ListNotificationsAsync(new ListNotificationsRequest { TenantId = tenant, PageSize = 3, PageToken = token });
            sizes.Add(page.Notifications.Count);
            seen.AddRange(page.Notifications);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        sizes.ShouldBe([3, 3, 1]);
        seen.Select(n => n.NotificationId).ShouldBe(Enumerable.Reverse(ids));
        seen[0].EventId.ShouldBe("page:6");
        seen[0].Kind.ShouldBe("low_balance");
        seen[0].PayloadJson.ShouldContain("\"level_micros\": 7");
        seen.ShouldAllBe(n => n.TenantId == tenant && n.OccurredAt != null);

        var badToken = await Should.ThrowAsync<RpcException>(client.ListNotificationsAsync(new ListNotificationsRequest { TenantId = tenant, PageToken = "bm90LWEtbnVtYmVy" }));
        badToken.Status.Detail.ShouldStartWith("page_token");
        var tooBig = await Should.ThrowAsync<RpcException>(client.ListNotificationsAsync(new ListNotificationsRequest { TenantId = tenant, PageSize = 1_000_000 }));
        tooBig.Status.Detail.ShouldStartWith("page_size");
    }

    private static Money Eur(long micros) => new() { AmountMicros = micros, Currency = "EUR" };

    private static async Task<long> DirectoryRevisionAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.ExecuteScalarAsync<long>("SELECT directory_revision FROM tenants WHERE tenant_id = @tenant", new { tenant });
    }

    private static async Task<string?> StoredSecretAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.ExecuteScalarAsync<string?>("SELECT webhook_secret FROM notification_settings WHERE tenant_id = @tenant", new { tenant });
    }
}
