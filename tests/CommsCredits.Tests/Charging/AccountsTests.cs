namespace CommsCredits.Tests.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf.WellKnownTypes;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>The admin API: tenants, funds, balances and rate imports.</summary>
public sealed class AccountsTests
{
    [Fact]
    public async Task Creating_a_tenant_twice_is_idempotent_but_not_with_other_settings()
    {
        // Proves CreateTenant returns the stored tenant for an identical retry and ALREADY_EXISTS for a conflicting one.
        var gateway = await SharedGateway.GetAsync();
        var request = new CreateTenantRequest { TenantId = "acme-" + Guid.NewGuid().ToString("N")[..8], Currency = "GBP", DisplayName = "Acme" };
        var created = await gateway.Accounts.CreateTenantAsync(request);
        (await gateway.Accounts.CreateTenantAsync(request)).ShouldBe(created);

        var conflicting = request.Clone();
        conflicting.Currency = "EUR";
        (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.CreateTenantAsync(conflicting))).StatusCode.ShouldBe(StatusCode.AlreadyExists);

        var invalid = new CreateTenantRequest { TenantId = "x", Currency = "euro", DisplayName = "X" };
        var error = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.CreateTenantAsync(invalid));
        error.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        error.Status.Detail.ShouldContain("currency");
    }

    [Fact]
    public async Task A_funding_is_added_once_per_idempotency_key_even_after_Redis_forgot_the_key()
    {
        // Proves AddFunds idempotency at both levels: Redis remembers the key, and once Redis has forgotten it the
        // ledger still does. A key reused for another amount is refused.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0, Rate("44", 60_000));
        var request = new AddFundsRequest
        {
            TenantId = tenant, Amount = new Money { AmountMicros = 50_000_000, Currency = "EUR" }, IdempotencyKey = "payment-42", Reference = "invoice 42",
        };

        var first = await gateway.Accounts.AddFundsAsync(request);
        first.Funded.AmountMicros.ShouldBe(50_000_000);
        first.Balance.Balance_.AmountMicros.ShouldBe(50_000_000);
        (await gateway.Accounts.AddFundsAsync(request)).Funded.AmountMicros.ShouldBe(50_000_000);
        await gateway.Redis.KeyDeleteAsync(CommsCredits.Gateway.Balances.HotStateKeys.Funding(tenant, "payment-42"));
        var afterForgetting = await gateway.Accounts.AddFundsAsync(request);
        afterForgetting.Balance.Balance_.AmountMicros.ShouldBe(50_000_000);

        var reused = request.Clone();
        reused.Amount.AmountMicros = 60_000_000;
        (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.AddFundsAsync(reused))).StatusCode.ShouldBe(StatusCode.FailedPrecondition);
        (await gateway.LedgerAsync(tenant)).Funded.ShouldBe(50_000_000);
        (await gateway.Accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant })).Balance.Balance_.AmountMicros.ShouldBe(50_000_000);
    }

    [Fact]
    public async Task Funding_checks_amount_currency_and_tenant()
    {
        // Proves the funding validations: zero, negative, above the limit, another currency, unknown tenant.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        foreach (var (amount, currency) in new[] { (0L, "EUR"), (-5L, "EUR"), (1_000_000_000_001L, "EUR"), (1_000L, "USD") })
        {
            var request = new AddFundsRequest { TenantId = tenant, Amount = new Money { AmountMicros = amount, Currency = currency }, IdempotencyKey = "k" + amount };
            (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.AddFundsAsync(request))).StatusCode.ShouldBe(StatusCode.InvalidArgument);
        }

        var unknown = new AddFundsRequest { TenantId = "nobody-here", Amount = new Money { AmountMicros = 1, Currency = "EUR" }, IdempotencyKey = "k" };
        (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.AddFundsAsync(unknown))).StatusCode.ShouldBe(StatusCode.NotFound);
        (await gateway.LedgerAsync(tenant)).Sum.ShouldBe(0);
    }

    [Fact]
    public async Task A_rate_import_with_one_bad_row_is_refused_whole_naming_the_row()
    {
        // Proves import atomicity: row 3 of 3 has a prefix with a letter; nothing is stored and the message says so.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(1_000_000);
        var import = new ImportRatesRequest { TenantId = tenant };
        import.Rows.Add(Rate("44", 60_000));
        import.Rows.Add(Rate("49", 60_000));
        import.Rows.Add(Rate("3x", 60_000));

        var error = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.ImportRatesAsync(import));
        error.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        error.Status.Detail.ShouldContain("row 3");
        error.Status.Detail.ShouldContain("prefix");
        (await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.RatingFailed);
    }

    [Fact]
    public async Task A_new_rate_version_applies_from_its_effective_time_and_every_gateway_sees_it()
    {
        // Proves effective dating and the refresh of in-memory rate tables across gateways: a second gateway on the
        // same storage, whose periodic check is an hour away, prices with the new version once the import on the
        // first gateway is committed (the notification), and ignores a version that is not in force yet.
        var gateway = await SharedGateway.GetAsync();
        await using var other = await GatewayInstance.StartAlongsideAsync(gateway, "--Catalog:RefreshIntervalSeconds=3600");
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000));
        PriceEnquiryRequest Enquiry() => new() { TenantId = tenant, CallType = CallType.OutboundPstn, CallingNumber = Caller, CalledNumber = UkFixed, Seconds = 60 };
        (await other.Charging.PriceEnquiryAsync(Enquiry())).Cost.AmountMicros.ShouldBe(60_000);

        var import = new ImportRatesRequest { TenantId = tenant };
        var cheaper = Rate("44", 30_000);
        cheaper.EffectiveFrom = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1));
        var future = Rate("4420", 1_000);
        future.EffectiveFrom = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30));
        import.Rows.Add(cheaper);
        import.Rows.Add(future);
        (await gateway.Accounts.ImportRatesAsync(import)).ImportedRows.ShouldBe(2u);

        var seen = await Eventually.SucceedsAsync(async () =>
        {
            var price = await other.Charging.PriceEnquiryAsync(Enquiry());
            return price.Cost.AmountMicros == 30_000 ? price : throw new RpcException(new Status(StatusCode.Unavailable, "not refreshed yet"));
        });
        seen.Rate.Prefix.ShouldBe("44");
        (await gateway.Charging.PriceEnquiryAsync(Enquiry())).Cost.AmountMicros.ShouldBe(30_000);
    }
}
