namespace CommsCredits.Tests.Funding;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Funding;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using StackExchange.Redis;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>A gateway of its own for the funding tests: they move its clock forward by months and run its expiry job.</summary>
public sealed class FundingGateway : IAsyncLifetime
{
    public GatewayInstance Gateway { get; private set; } = null!;

    public async Task InitializeAsync() =>
        // The product's minimum (50 units), not the test default of 1 micro; the expiry job only runs when a test asks.
        // These tests move the clock by months; session supervision would then close the sessions they keep open on
        // purpose (SessionSupervisionTests covers it on a gateway of its own).
        Gateway = await GatewayInstance.StartAsync(null, "--Funding:MinimumOneOffMicros=50000000", "--Funding:ExpiryIntervalSeconds=86400", "--Supervision:Enabled=false");

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}

/// <summary>The funding tests share one gateway; they run one class at a time because they move its clock.</summary>
[CollectionDefinition(Name)]
public sealed class FundingCollection : ICollectionFixture<FundingGateway>
{
    public const string Name = "funding";
}

/// <summary>Funding lots: the minimum, earliest-expiry-first consumption, expiry with holds honoured, rebuilds.</summary>
[Collection(FundingCollection.Name)]
public sealed class FundingLotTests(FundingGateway fixture)
{
    private const long Euro = 1_000_000;
    private readonly GatewayInstance gateway = fixture.Gateway;

    [Fact]
    public async Task A_one_off_funding_below_50_units_or_in_another_currency_is_refused_and_changes_nothing()
    {
        // Proves the funding rules: 50 units of the account currency is the default minimum, one micro less is refused
        // with a message naming the minimum, a foreign currency is refused, and neither leaves a trace.
        new FundingOptions().MinimumOneOffMicros.ShouldBe(50 * Euro);
        var tenant = await gateway.CreateTenantAsync(0, Rate("44", Euro));

        var tooSmall = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.AddFundsAsync(Funding(tenant, (50 * Euro) - 1, "small")));
        tooSmall.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        tooSmall.Status.Detail.ShouldContain("minimum one-off funding of 50000000 micro-units (50 EUR)");
        var foreign = Funding(tenant, 60 * Euro, "foreign");
        foreign.Amount.Currency = "GBP";
        (await Should.ThrowAsync<RpcException>(() => gateway.Accounts.AddFundsAsync(foreign))).Status.Detail.ShouldContain("EUR");
        (await gateway.LedgerAsync(tenant)).Sum.ShouldBe(0);
        (await gateway.LedgerLotsAsync(tenant)).ShouldBeEmpty();

        var accepted = await gateway.Accounts.AddFundsAsync(Funding(tenant, 50 * Euro, "enough"));
        accepted.Balance.Balance_.AmountMicros.ShouldBe(50 * Euro);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task Debits_draw_on_the_lot_that_expires_first_and_the_ledger_says_which_lot_paid()
    {
        // Proves earliest-expiry-first: lot A is bought first but expires in 12 months, lot B is bought later with a
        // 1-month expiry. A debit larger than B takes all of B, then the rest from A, and lot_draws records exactly that.
        var tenant = await gateway.CreateTenantAsync(100 * Euro, Rate("44", Euro, first: 60, next: 60));
        await SetExpiryMonthsAsync(tenant, 1);
        await gateway.Accounts.AddFundsAsync(Funding(tenant, 60 * Euro, "short-lived"));
        var lots = await gateway.LedgerLotsAsync(tenant);
        lots.Count.ShouldBe(2);
        var earliest = lots.MinBy(lot => lot.Value.ExpiresMs).Key;
        var latest = lots.MaxBy(lot => lot.Value.ExpiresMs).Key;
        lots[latest].Remaining.ShouldBe(100 * Euro);

        var debit = await gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 70 * 60));

        debit.Charged.AmountMicros.ShouldBe(70 * Euro);
        var draws = await DrawsAsync(tenant);
        draws.ShouldBe([(earliest, 60 * Euro), (latest, 10 * Euro)], ignoreOrder: true);
        (await gateway.RedisLotsAsync(tenant)).ShouldBe(new SortedDictionary<string, (long, long)>(StringComparer.Ordinal) { [latest] = (90 * Euro, lots[latest].ExpiresMs) });
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_lot_expiring_while_a_call_holds_part_of_it_honours_the_hold_and_forfeits_the_rest_once()
    {
        // Proves expiry with a hold in place: a call holds 30 of a 50-unit lot; the lot expires mid-call. The expiry
        // run forfeits the 20 no hold needs, and a second run forfeits nothing. The call still gets what it was
        // granted, paid from the expired lot, but no new grant (the only money left is expired). After the call ends,
        // the next run forfeits what the hold did not use. Money is conserved after every step, in Redis and the ledger.
        var tenant = await gateway.CreateTenantAsync(50 * Euro, Rate("44", 5 * Euro, first: 60, next: 60));
        var session = NewSessionId();
        var reserve = await gateway.Charging.ReserveAsync(Reserve(tenant, session, 360));
        reserve.Reserved.AmountMicros.ShouldBe(30 * Euro);

        gateway.Clock.Advance(TimeSpan.FromDays(367));
        var job = gateway.Services.GetRequiredService<FundingExpiryJob>();
        (await job.ExpireTenantAsync(tenant, gateway.Clock.GetUtcNow(), CancellationToken.None)).ShouldBe(20 * Euro);
        (await job.ExpireTenantAsync(tenant, gateway.Clock.GetUtcNow(), CancellationToken.None)).ShouldBe(0);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((30 * Euro, 30 * Euro));
        await gateway.ShouldConserveMoneyAsync(tenant);
        var other = await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60));
        other.ResultCode.ShouldBe(ResultCode.CreditLimitReached);

        var update = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 240, requestedSeconds: 60));
        update.Charged.AmountMicros.ShouldBe(20 * Euro);
        update.ResultCode.ShouldBe(ResultCode.CreditLimitReached);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, usedSeconds: 0))).SessionCharged.AmountMicros.ShouldBe(20 * Euro);
        await gateway.ShouldConserveMoneyAsync(tenant);

        (await job.ExpireTenantAsync(tenant, gateway.Clock.GetUtcNow(), CancellationToken.None)).ShouldBe(10 * Euro);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((0L, 0L));
        await gateway.ShouldConserveMoneyAsync(tenant);
        var (funded, debited, expired) = await KindsAsync(tenant);
        (funded, debited, expired).ShouldBe((50 * Euro, 20 * Euro, 30 * Euro));
    }

    [Fact]
    public async Task The_scheduled_run_finds_tenants_with_expired_lots_in_the_ledger_and_forfeits_each_once()
    {
        // Proves the job's own discovery: two tenants with expired lots and one whose lot is still valid; one run
        // forfeits both expired ones in full, the valid one keeps its money, and a second run forfeits nothing.
        var first = await gateway.CreateTenantAsync(50 * Euro, Rate("44", Euro));
        var second = await gateway.CreateTenantAsync(70 * Euro, Rate("44", Euro));
        gateway.Clock.Advance(TimeSpan.FromDays(367));
        var fresh = await gateway.CreateTenantAsync(55 * Euro, Rate("44", Euro));
        var job = gateway.Services.GetRequiredService<FundingExpiryJob>();

        (await job.RunOnceAsync(CancellationToken.None)).ShouldBeGreaterThanOrEqualTo(120 * Euro);
        (await job.RunOnceAsync(CancellationToken.None)).ShouldBe(0);

        (await gateway.LedgerAsync(first)).Sum.ShouldBe(0);
        (await gateway.LedgerAsync(second)).Sum.ShouldBe(0);
        (await gateway.LedgerAsync(fresh)).Sum.ShouldBe(55 * Euro);
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            // Each forfeiture notifies its tenant once, with the amount, in the expiry's own ledger transaction.
            var notices = await connection.QueryAsync<(string Tenant, string Payload)>(
                "SELECT tenant_id, payload::text FROM notification_outbox WHERE kind = 'funds_expired' AND tenant_id = ANY(@tenants) ORDER BY tenant_id",
                new { tenants = new[] { first, second, fresh } });
            notices.ShouldBe(new[]
            {
                (first, "{\"currency\": \"EUR\", \"amount_micros\": 50000000}"),
                (second, "{\"currency\": \"EUR\", \"amount_micros\": 70000000}"),
            }.OrderBy(notice => notice.Item1, StringComparer.Ordinal));
        }

        foreach (var tenant in new[] { first, second, fresh })
        {
            await gateway.ShouldConserveMoneyAsync(tenant);
        }
    }

    [Fact]
    public async Task Lots_are_rebuilt_from_the_ledger_exactly_when_Redis_loses_them()
    {
        // Proves invariant 5 for lots: after fundings, a refund (a lot of its own), a debit from one lot and an expiry
        // of the rest of it, Redis loses the tenant; the next request rebuilds every lot with its remaining amount and
        // expiry, equal to what Redis held before.
        var tenant = await gateway.CreateTenantAsync(50 * Euro, Rate("44", Euro, first: 60, next: 60));
        await SetExpiryMonthsAsync(tenant, 1);
        await gateway.Accounts.AddFundsAsync(Funding(tenant, 80 * Euro, "second"));
        await SetExpiryMonthsAsync(tenant, 2);
        await gateway.Charging.RefundAsync(new RefundRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, Amount = new Money { AmountMicros = 3 * Euro, Currency = "EUR" }, Reason = "goodwill",
        });
        await gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 30 * 60));
        gateway.Clock.Advance(TimeSpan.FromDays(40));
        (await gateway.Services.GetRequiredService<FundingExpiryJob>().ExpireTenantAsync(tenant, gateway.Clock.GetUtcNow(), CancellationToken.None)).ShouldBe(50 * Euro);
        var before = await gateway.RedisLotsAsync(tenant);
        before.Count.ShouldBe(2);
        await gateway.ShouldConserveMoneyAsync(tenant);

        await gateway.LoseHotStateAsync(tenant);
        var balance = await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant });

        balance.Balance.Balance_.AmountMicros.ShouldBe(before.Values.Sum(lot => lot.Remaining));
        var after = await gateway.RedisLotsAsync(tenant);
        after.Values.ShouldBe(before.Values);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_debit_whose_lot_never_reached_the_ledger_is_taken_from_the_earliest_lots_on_every_rebuild()
    {
        // Proves the one case where the ledger's lots do not add up to its balance: a committed debit drew 10 units on
        // a lot whose funding was refused by an epoch change (planted here straight into the ledger). A rebuild takes
        // those 10 units from the earliest lot instead, so Redis holds lots that add up to the ledger balance, and a
        // second rebuild reaches the same lots.
        var tenant = await gateway.CreateTenantAsync(60 * Euro, Rate("44", Euro));
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO ledger_entries (tenant_id, epoch, operation_number, kind, amount_micros, occurred_at)
                SELECT @tenant, hot_epoch, 1000, 2, -10000000, now() FROM tenants WHERE tenant_id = @tenant;
                INSERT INTO lot_draws (tenant_id, epoch, operation_number, lot_epoch, lot_operation_number, amount_micros)
                SELECT @tenant, hot_epoch, 1000, hot_epoch, 999, 10000000 FROM tenants WHERE tenant_id = @tenant;
                """,
                new { tenant });
        }

        for (var rebuild = 0; rebuild < 2; rebuild++)
        {
            await gateway.LoseHotStateAsync(tenant);
            var balance = await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant });
            balance.Balance.Balance_.AmountMicros.ShouldBe(50 * Euro);
            (await gateway.RedisLotsAsync(tenant)).Values.Select(lot => lot.Remaining).ShouldBe([50 * Euro]);
        }

        gateway.Errors.Entries.ShouldBeEmpty();
    }

    private static AddFundsRequest Funding(string tenantId, long amountMicros, string key) => new()
    {
        TenantId = tenantId,
        Amount = new Money { AmountMicros = amountMicros, Currency = "EUR" },
        IdempotencyKey = key + "-" + tenantId,
    };

    private static DebitRequest Debit(string tenantId, string sessionId, uint usedSeconds) => new()
    {
        SessionId = sessionId, TenantId = tenantId, UserId = "alice@example.com", CallType = CallType.OutboundPstn,
        CallingNumber = "+14155550100", CalledNumber = UkFixed, UsedSeconds = usedSeconds,
    };

    private async Task SetExpiryMonthsAsync(string tenantId, int months)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        await connection.ExecuteAsync("UPDATE tenants SET funding_expiry_months = @months WHERE tenant_id = @tenantId", new { months, tenantId });
        await gateway.Services.GetRequiredService<CommsCredits.Gateway.Tenants.TenantCatalog>().RefreshAsync(tenantId, CancellationToken.None);
    }

    private async Task<List<(string Lot, long Micros)>> DrawsAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var rows = await connection.QueryAsync<(long Epoch, long Operation, long Micros)>(
            "SELECT lot_epoch, lot_operation_number, amount_micros FROM lot_draws WHERE tenant_id = @tenantId", new { tenantId });
        return rows.Select(row => ($"{row.Epoch}.{row.Operation}", row.Micros)).ToList();
    }

    private async Task<(long Funded, long Debited, long Expired)> KindsAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.QuerySingleAsync<(long, long, long)>(
            """
            SELECT coalesce(sum(amount_micros) FILTER (WHERE kind = 1), 0)::bigint,
                   coalesce(-sum(amount_micros) FILTER (WHERE kind = 2), 0)::bigint,
                   coalesce(-sum(amount_micros) FILTER (WHERE kind = 4), 0)::bigint
            FROM ledger_entries WHERE tenant_id = @tenantId
            """,
            new { tenantId });
    }
}
