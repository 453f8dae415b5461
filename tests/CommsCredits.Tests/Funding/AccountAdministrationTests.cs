namespace CommsCredits.Tests.Funding;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Google.Protobuf.WellKnownTypes;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>The admin side of funding: balance with lots, ledger pages, tenant settings, auto-recharge settings.</summary>
[Collection(FundingCollection.Name)]
public sealed class AccountAdministrationTests(FundingGateway fixture)
{
    private const long Euro = 1_000_000;

    [Fact]
    public async Task The_balance_lists_each_lot_with_money_left_earliest_expiry_first_adding_up_to_the_balance()
    {
        // Proves GetBalance's lots: after two fundings (the second with a shorter expiry) and a debit that empties
        // part of the shorter one, the lots come earliest expiry first with their purchase details, and their
        // remaining amounts add up to the balance.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(70 * Euro, Rate("44", Euro, first: 60, next: 60));
        await gateway.Accounts.UpdateTenantAsync(new UpdateTenantRequest { TenantId = tenant, FundingExpiryMonths = 2 });
        await gateway.Accounts.AddFundsAsync(Funding(tenant, 60 * Euro, "second"));
        await gateway.Charging.DebitAsync(new DebitRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn,
            CallingNumber = "+14155550100", CalledNumber = UkFixed, UsedSeconds = 25 * 60,
        });

        var balance = await gateway.Accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant });

        balance.Balance.Balance_.AmountMicros.ShouldBe(105 * Euro);
        balance.Lots.Select(lot => (lot.Source, lot.Amount.AmountMicros, lot.Remaining.AmountMicros))
            .ShouldBe([(LotSource.OneOffFunding, 60 * Euro, 35 * Euro), (LotSource.OneOffFunding, 70 * Euro, 70 * Euro)]);
        balance.Lots.Sum(lot => lot.Remaining.AmountMicros).ShouldBe(balance.Balance.Balance_.AmountMicros);
        var second = balance.Lots[0];
        second.ExpiresAt.ToDateTimeOffset().ShouldBe(second.PurchasedAt.ToDateTimeOffset().AddMonths(2), TimeSpan.FromMilliseconds(1));
        balance.Lots[1].ExpiresAt.ToDateTimeOffset().ShouldBe(balance.Lots[1].PurchasedAt.ToDateTimeOffset().AddMonths(12), TimeSpan.FromMilliseconds(1));
        balance.Lots.ShouldAllBe(lot => !lot.Expired && lot.Amount.Currency == "EUR");
    }

    [Fact]
    public async Task Ledger_pages_return_every_entry_once_in_order_with_lots_and_draws()
    {
        // Proves ListLedgerEntries: pages of 3 over a funding, 7 debits and a refund return all 9 entries once, in the
        // order they were applied; the funding and the refund carry the lot they created, every debit its draws
        // adding up to its amount; the occurred_at filter and bad tokens and sizes are handled.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(100 * Euro, Rate("44", Euro, first: 60, next: 60));
        for (var call = 1; call <= 7; call++)
        {
            await gateway.Charging.DebitAsync(new DebitRequest
            {
                SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn,
                CallingNumber = "+14155550100", CalledNumber = UkFixed, UsedSeconds = (uint)(call * 60),
            });
        }

        await gateway.Charging.RefundAsync(new RefundRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, Amount = new Money { AmountMicros = 2 * Euro, Currency = "EUR" }, Reason = "dropped call",
        });

        var entries = new List<LedgerEntry>();
        var token = string.Empty;
        var pages = 0;
        do
        {
            var page = await gateway.Accounts.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { TenantId = tenant, PageSize = 3, PageToken = token });
            page.Entries.Count.ShouldBeLessThanOrEqualTo(3);
            entries.AddRange(page.Entries);
            token = page.NextPageToken;
            pages++;
        }
        while (token.Length > 0 && pages < 10);

        entries.Select(entry => entry.Kind).ShouldBe([LedgerEntryKind.Funding, .. Enumerable.Repeat(LedgerEntryKind.Debit, 7), LedgerEntryKind.Refund]);
        entries.Select(entry => entry.EntryId).Distinct(StringComparer.Ordinal).Count().ShouldBe(9);
        entries.Select(entry => entry.Amount.AmountMicros).ShouldBe([100 * Euro, -1 * Euro, -2 * Euro, -3 * Euro, -4 * Euro, -5 * Euro, -6 * Euro, -7 * Euro, 2 * Euro]);
        entries[0].Lot.LotId.ShouldBe(entries[0].EntryId);
        entries[^1].Lot.Source.ShouldBe(LotSource.Refund);
        entries[^1].Note.ShouldBe("dropped call");
        entries.Where(entry => entry.Kind == LedgerEntryKind.Debit)
            .ShouldAllBe(entry => entry.Draws.Count == 1 && entry.Draws[0].LotId == entries[0].EntryId && entry.Draws[0].Amount.AmountMicros == -entry.Amount.AmountMicros);

        var before = await gateway.Accounts.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { TenantId = tenant, OccurredBefore = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)) });
        before.Entries.ShouldBeEmpty();
        (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { TenantId = tenant, PageToken = "nonsense" })))
            .Status.Detail.ShouldContain("page_token");
        (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { TenantId = tenant, PageSize = 5_000 })))
            .Status.Detail.ShouldContain("Accounts:MaxLedgerPageSize");
    }

    [Fact]
    public async Task Updating_a_tenant_changes_only_the_fields_given_and_refuses_bad_ones()
    {
        // Proves UpdateTenant: a partial update keeps the other settings; an unknown time zone, an expiry out of
        // range and an unknown tenant are refused with the right status and change nothing.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(0);

        var updated = await gateway.Accounts.UpdateTenantAsync(new UpdateTenantRequest { TenantId = tenant, TimeZone = "Europe/London" });
        updated.TimeZone.ShouldBe("Europe/London");
        updated.FundingExpiryMonths.ShouldBe(12u);
        updated.DisplayName.ShouldBe("Test " + tenant);
        updated = await gateway.Accounts.UpdateTenantAsync(new UpdateTenantRequest { TenantId = tenant, DisplayName = "Renamed", FundingExpiryMonths = 6 });
        (updated.TimeZone, updated.FundingExpiryMonths, updated.DisplayName).ShouldBe(("Europe/London", 6u, "Renamed"));

        var zone = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.UpdateTenantAsync(new UpdateTenantRequest { TenantId = tenant, TimeZone = "Mars/Olympus" }));
        zone.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        zone.Status.Detail.ShouldContain("time_zone");
        (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.UpdateTenantAsync(new UpdateTenantRequest { TenantId = tenant, FundingExpiryMonths = 0 })))
            .Status.Detail.ShouldContain("funding_expiry_months");
        (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.UpdateTenantAsync(new UpdateTenantRequest { TenantId = "no-such-tenant-x", DisplayName = "X" })))
            .StatusCode.ShouldBe(StatusCode.NotFound);
        var unchanged = await gateway.Accounts.UpdateTenantAsync(new UpdateTenantRequest { TenantId = tenant });
        (unchanged.TimeZone, unchanged.FundingExpiryMonths, unchanged.DisplayName).ShouldBe(("Europe/London", 6u, "Renamed"));
    }

    [Fact]
    public async Task Auto_recharge_settings_are_stored_when_valid_and_refused_with_the_field_named_when_not()
    {
        // Proves Get/SetAutoRecharge: disabled with zero amounts until set; a valid setting is stored and read back;
        // a recharge below the minimum funding, an enabled setting without a payment method, a foreign currency and
        // a negative trigger are refused and leave the stored setting as it was.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(0);
        var initial = await gateway.Accounts.GetAutoRechargeAsync(new GetAutoRechargeRequest { TenantId = tenant });
        (initial.Enabled, initial.Trigger.AmountMicros, initial.Recharge.AmountMicros, initial.UpdatedAt).ShouldBe((false, 0L, 0L, null));

        var valid = new SetAutoRechargeRequest
        {
            TenantId = tenant, Enabled = true, Trigger = Eur(10 * Euro), Recharge = Eur(100 * Euro), PaymentMethodReference = "pm_card_visa_4242",
        };
        var stored = await gateway.Accounts.SetAutoRechargeAsync(valid);
        (await gateway.Accounts.GetAutoRechargeAsync(new GetAutoRechargeRequest { TenantId = tenant })).ShouldBe(stored);
        (stored.Enabled, stored.Trigger.AmountMicros, stored.Recharge.AmountMicros, stored.PaymentMethodReference).ShouldBe((true, 10 * Euro, 100 * Euro, "pm_card_visa_4242"));

        await Refused(valid, request => request.Recharge = Eur(1), "recharge");
        await Refused(valid, request => request.PaymentMethodReference = string.Empty, "payment_method_reference");
        await Refused(valid, request => request.Trigger = new Money { AmountMicros = 10, Currency = "USD" }, "trigger.currency");
        await Refused(valid, request => request.Trigger = Eur(-1), "trigger.amount_micros");
        (await gateway.Accounts.GetAutoRechargeAsync(new GetAutoRechargeRequest { TenantId = tenant })).ShouldBe(stored);

        async Task Refused(SetAutoRechargeRequest template, Action<SetAutoRechargeRequest> change, string field)
        {
            var request = template.Clone();
            change(request);
            var error = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.SetAutoRechargeAsync(request));
            error.StatusCode.ShouldBe(StatusCode.InvalidArgument);
            error.Status.Detail.ShouldContain(field);
        }
    }

    private static Money Eur(long micros) => new() { AmountMicros = micros, Currency = "EUR" };

    private static AddFundsRequest Funding(string tenantId, long amountMicros, string key) => new()
    {
        TenantId = tenantId, Amount = Eur(amountMicros), IdempotencyKey = key + "-" + tenantId,
    };
}
