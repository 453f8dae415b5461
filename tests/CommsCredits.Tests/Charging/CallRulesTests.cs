namespace CommsCredits.Tests.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using Dapper;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;
using static CommsCredits.Tests.Provisioning.Directories;

/// <summary>
/// The product's rules on calls, against real Redis and PostgreSQL: users and licences, calling plans, included-minute
/// pools before credit, toll-free numbers billed to their owner.
/// </summary>
public sealed class CallRulesTests
{
    private const long Euro = 1_000_000;
    private const string France = "+33140000000";

    [Fact]
    public async Task A_pool_exhausted_during_a_call_switches_the_grant_to_credit_and_the_call_record_splits_the_minutes()
    {
        // Proves pool first, then credit: a 2-minute pool (one licensed domestic user) covers the first 120 s. Reserve
        // 60 s is all pool; the Update asks 120 s more and gets 60 s from the pool and 60 s on credit (hold 1 EUR);
        // Terminate at 160 s charges 40 s rounded to 60 s. The call record says 120 included seconds from pool gb,
        // the ledger holds the charge, and the pool's use reaches both Redis and pool_usage.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await NewTenantAsync(gateway, 50 * Euro);
        await gateway.Directory.PutUserAsync(User(tenant, "alice", CallingPlan.Domestic));
        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "gb", 2, ["44"], ["GB"]));
        var session = NewSessionId();

        await gateway.DirectoryLoadedAsync(tenant);
        var reserve = await gateway.Charging.ReserveAsync(By("alice", Reserve(tenant, session, 60)));
        (reserve.ResultCode, reserve.GrantedSeconds, reserve.GrantedIncludedSeconds, reserve.Reserved.AmountMicros).ShouldBe((ResultCode.Success, 60u, 60u, 0L));
        var update = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 60, requestedSeconds: 120));
        (update.GrantedSeconds, update.GrantedIncludedSeconds, update.Reserved.AmountMicros, update.Charged.AmountMicros).ShouldBe((120u, 60u, Euro, 0L));
        var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, usedSeconds: 100));

        (end.UsedSeconds, end.IncludedSeconds, end.BilledSeconds, end.SessionCharged.AmountMicros).ShouldBe((160u, 120u, 180u, Euro));
        var record = await CallRecordAsync(gateway, tenant, session);
        (record.UsedSeconds, record.IncludedSeconds, record.BilledSeconds, record.ChargeMicros, record.PoolId).ShouldBe((160L, 120L, 180L, Euro, "gb"));
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(Euro);
        (await PoolUsageAsync(gateway, tenant, "gb")).ShouldBe(120);
        (await PoolCountersAsync(gateway, tenant, "gb")).ShouldBe((120L, 0L));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_user_without_the_credits_licence_gets_pool_minutes_only_and_is_denied_what_would_take_credit()
    {
        // Proves the licence rule: bob (domestic plan, no credits licence) calling the UK gets the pool's 60 s with a
        // final-unit indication instead of the 300 s asked; once the pool is used up his next call is 4010 with the
        // reason; a call to France (no pool) is 4010 at once. Nothing is ever charged to the tenant's credit.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await NewTenantAsync(gateway, 50 * Euro);
        await gateway.Directory.PutUserAsync(User(tenant, "bob", CallingPlan.Domestic, creditsLicence: false));
        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "gb", 1, ["44"], ["GB"]));
        var first = NewSessionId();

        await gateway.DirectoryLoadedAsync(tenant);
        var reserve = await gateway.Charging.ReserveAsync(By("bob", Reserve(tenant, first, 300)));
        (reserve.ResultCode, reserve.GrantedSeconds, reserve.GrantedIncludedSeconds, reserve.FinalUnitAction).ShouldBe((ResultCode.Success, 60u, 60u, FinalUnitAction.Terminate));
        var overrun = await gateway.Charging.TerminateAsync(Terminate(tenant, first, 1, usedSeconds: 90));
        (overrun.IncludedSeconds, overrun.SessionCharged.AmountMicros).ShouldBe((60u, 0L));

        var exhausted = await gateway.Charging.ReserveAsync(By("bob", Reserve(tenant, NewSessionId(), 60)));
        exhausted.ResultCode.ShouldBe(ResultCode.EndUserServiceDenied);
        exhausted.ResultMessage.ShouldBe("the included minutes of pool 'gb' are used up and user 'bob' holds no communications credits licence");
        var international = await gateway.Charging.ReserveAsync(By("bob", Reserve(tenant, NewSessionId(), 60, called: France)));
        international.ResultCode.ShouldBe(ResultCode.EndUserServiceDenied);
        international.ResultMessage.ShouldContain("holds no communications credits licence");
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(0);
        (await CallRecordAsync(gateway, tenant, first)).UnchargedMicros.ShouldBe(Euro);
    }

    [Fact]
    public async Task Unknown_users_users_without_a_calling_plan_and_pay_as_you_go_users_are_treated_as_the_rules_say()
    {
        // Proves the remaining user rules: an unknown user is 5030 USER_UNKNOWN; a user with no calling plan may not
        // call out (4010) but, holding audio conferencing, may be dialled out to by a bridge on the conferencing pool;
        // a pay-as-you-go user's UK call goes to credit even though a domestic pool covers the UK.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await NewTenantAsync(gateway, 50 * Euro, Rate("44", Euro, first: 60, next: 60, callType: CallType.ConferenceDialOut));
        await gateway.Directory.PutUserAsync(User(tenant, "nina", CallingPlan.None, conferencing: true));
        await gateway.Directory.PutUserAsync(User(tenant, "paul", CallingPlan.PayAsYouGo));
        await gateway.Directory.PutUserAsync(User(tenant, "dora", CallingPlan.Domestic));
        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "gb", 10, ["44"], ["GB"]));
        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "conf", 5, ["44", "33"], callType: CallType.ConferenceDialOut, entitlement: PoolEntitlement.AudioConferencing));

        await gateway.DirectoryLoadedAsync(tenant);
        var unknown = await gateway.Charging.ReserveAsync(By("nobody", Reserve(tenant, NewSessionId(), 60)));
        (unknown.ResultCode, unknown.ResultMessage).ShouldBe((ResultCode.UserUnknown, $"user 'nobody' is not a user of tenant '{tenant}'"));
        var noPlan = await gateway.Charging.ReserveAsync(By("nina", Reserve(tenant, NewSessionId(), 60)));
        (noPlan.ResultCode, noPlan.ResultMessage).ShouldBe((ResultCode.EndUserServiceDenied, "user 'nina' has no calling plan, so may not call the public telephone network"));
        var dialOut = await gateway.Charging.ReserveAsync(By("nina", Reserve(tenant, NewSessionId(), 60, callType: CallType.ConferenceDialOut)));
        (dialOut.ResultCode, dialOut.GrantedIncludedSeconds).ShouldBe((ResultCode.Success, 60u));

        var payAsYouGo = await gateway.Charging.ReserveAsync(By("paul", Reserve(tenant, NewSessionId(), 60)));
        (payAsYouGo.ResultCode, payAsYouGo.GrantedIncludedSeconds, payAsYouGo.Reserved.AmountMicros).ShouldBe((ResultCode.Success, 0u, Euro));
        var domestic = await gateway.Charging.ReserveAsync(By("dora", Reserve(tenant, NewSessionId(), 60)));
        (domestic.GrantedIncludedSeconds, domestic.Reserved.AmountMicros).ShouldBe((60u, 0L));
    }

    [Fact]
    public async Task A_toll_free_call_is_billed_to_the_numbers_owner_and_refused_at_zero_balance()
    {
        // Proves toll-free ownership: a call to the tenant's number is refused 4012 while the balance is zero, and
        // granted (on credit, no user checked) once funded; a call naming a number the tenant does not own is 4010.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await NewTenantAsync(gateway, 0, Rate("1", Euro, first: 60, next: 60, callType: CallType.TollFreeInbound));
        var number = "+44800" + Random.Shared.Next(1_000_000, 9_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await gateway.Directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = tenant, Number = number });
        await gateway.DirectoryLoadedAsync(tenant);
        ReserveRequest TollFree(string called) => By("ivr", Reserve(tenant, NewSessionId(), 60, called: called, callType: CallType.TollFreeInbound));

        (await gateway.Charging.ReserveAsync(TollFree(number))).ResultCode.ShouldBe(ResultCode.CreditLimitReached);
        await gateway.Accounts.AddFundsAsync(new AddFundsRequest { TenantId = tenant, Amount = new Money { AmountMicros = 5 * Euro, Currency = "EUR" }, IdempotencyKey = "fund-" + tenant });
        var granted = await gateway.Charging.ReserveAsync(TollFree(number));
        (granted.ResultCode, granted.Reserved.AmountMicros).ShouldBe((ResultCode.Success, Euro));
        var foreign = await gateway.Charging.ReserveAsync(TollFree("+448009999999"));
        (foreign.ResultCode, foreign.ResultMessage).ShouldBe((ResultCode.EndUserServiceDenied, $"+448009999999 is not a toll-free number of tenant '{tenant}'"));
    }

    [Fact]
    public async Task Pool_counters_are_rebuilt_from_the_ledger_when_Redis_loses_them()
    {
        // Proves invariant 5 for included minutes: after a direct debit takes 100 s of a 120 s pool (the other 20 s
        // of it on credit... none: it fits), Redis loses the tenant; the rebuilt counters leave exactly 20 s, so the
        // next debit of 60 s takes 20 s from the pool and 40 s (rounded to 60) on credit.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await NewTenantAsync(gateway, 50 * Euro);
        await gateway.Directory.PutUserAsync(User(tenant, "alice", CallingPlan.Domestic));
        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "gb", 2, ["44"], ["GB"]));
        await gateway.DirectoryLoadedAsync(tenant);
        var first = await gateway.Charging.DebitAsync(Debit(tenant, "alice", 100));
        (first.IncludedSeconds, first.Charged.AmountMicros).ShouldBe((100u, 0L));

        await gateway.LoseHotStateAsync(tenant);
        var second = await gateway.Charging.DebitAsync(Debit(tenant, "alice", 60));

        (second.IncludedSeconds, second.BilledSeconds, second.Charged.AmountMicros).ShouldBe((20u, 80u, Euro));
        (await PoolUsageAsync(gateway, tenant, "gb")).ShouldBe(120);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task Concurrent_calls_never_get_more_pool_seconds_than_the_pool_holds()
    {
        // Proves pool holds: 20 calls reserve 60 s each at once from a 5-minute pool shared by five licensed users;
        // exactly 300 s are granted from the pool in all, and the rest go to credit.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await NewTenantAsync(gateway, 100 * Euro);
        foreach (var user in new[] { "u1", "u2", "u3", "u4", "u5" })
        {
            await gateway.Directory.PutUserAsync(User(tenant, user, CallingPlan.Domestic));
        }

        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "gb", 1, ["44"], ["GB"]));
        await gateway.DirectoryLoadedAsync(tenant);
        var grants = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => gateway.Charging.ReserveAsync(By("u1", Reserve(tenant, NewSessionId(), 60)))));

        grants.Sum(grant => grant.GrantedIncludedSeconds).ShouldBe(300u);
        grants.ShouldAllBe(grant => grant.ResultCode == ResultCode.Success && grant.GrantedSeconds == 60);
        (await PoolCountersAsync(gateway, tenant, "gb")).ShouldBe((0L, 300L));
    }

    private static async Task<string> NewTenantAsync(GatewayInstance gateway, long fundingMicros, params RateRow[] extraRates)
    {
        var tenant = await gateway.CreateEmptyTenantAsync();
        var import = new ImportRatesRequest { TenantId = tenant };
        import.Rows.Add(Rate("44", Euro, first: 60, next: 60));
        import.Rows.Add(Rate("33", 2 * Euro, first: 60, next: 60));
        import.Rows.AddRange(extraRates);
        await gateway.Accounts.ImportRatesAsync(import);
        if (fundingMicros > 0)
        {
            await gateway.Accounts.AddFundsAsync(new AddFundsRequest
            {
                TenantId = tenant, Amount = new Money { AmountMicros = fundingMicros, Currency = "EUR" }, IdempotencyKey = "initial-" + tenant,
            });
        }

        return tenant;
    }

    private static ReserveRequest By(string userId, ReserveRequest request)
    {
        request.UserId = userId;
        return request;
    }

    private static DebitRequest Debit(string tenant, string user, uint seconds) => new()
    {
        SessionId = NewSessionId(), TenantId = tenant, UserId = user, CallType = CallType.OutboundPstn, CallingNumber = Caller, CalledNumber = UkFixed,
        UsedSeconds = seconds,
    };

    private static async Task<CallRow> CallRecordAsync(GatewayInstance gateway, string tenant, string session)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.QuerySingleAsync<CallRow>(
            """
            SELECT used_seconds AS UsedSeconds, included_seconds AS IncludedSeconds, billed_seconds AS BilledSeconds,
                   charge_micros AS ChargeMicros, uncharged_micros AS UnchargedMicros, pool_id AS PoolId
            FROM call_records WHERE tenant_id = @tenant AND session_id = @session
            """,
            new { tenant, session });
    }

    private static async Task<long> PoolUsageAsync(GatewayInstance gateway, string tenant, string pool)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.ExecuteScalarAsync<long>(
            "SELECT coalesce(sum(seconds), 0)::bigint FROM pool_usage WHERE tenant_id = @tenant AND pool_id = @pool", new { tenant, pool });
    }

    private static async Task<(long Used, long Held)> PoolCountersAsync(GatewayInstance gateway, string tenant, string pool)
    {
        var values = await gateway.Redis.HashGetAsync(HotStateKeys.Account(tenant), ["pu:" + pool, "ph:" + pool]);
        return ((long)values[0], (long)values[1]);
    }

    private sealed record CallRow(long UsedSeconds, long IncludedSeconds, long BilledSeconds, long ChargeMicros, long UnchargedMicros, string? PoolId);
}
