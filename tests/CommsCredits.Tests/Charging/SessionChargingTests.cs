namespace CommsCredits.Tests.Charging;

using CommsCredits.Contracts.V1;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>Reserve, Update and Terminate against a real gateway, Redis and PostgreSQL.</summary>
public class SessionChargingTests
{
    /// <summary>The gateway the tests run on: the shared one, on a single Redis; a derived class runs them on another.</summary>
    protected virtual Task<GatewayInstance> GatewayAsync() => SharedGateway.GetAsync();

    [Fact]
    public async Task A_full_call_is_charged_rate_times_billed_time_and_Redis_equals_the_ledger()
    {
        // Proves the whole money path: 0.06 EUR/min, 60/1 increments, 0.01 fee; 60 + 30 + 15 seconds used = 105 s
        // billed 105 s = 0.01 + 0.105 = 0.115 EUR, debited slice by slice, and the ledger, the CDR and Redis agree.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, connectionFeeMicros: 10_000, first: 60, next: 1));
        var session = NewSessionId();

        var reserve = await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        reserve.ResultCode.ShouldBe(ResultCode.Success);
        reserve.GrantedSeconds.ShouldBe(60u);
        reserve.Reserved.AmountMicros.ShouldBe(70_000);
        reserve.FinalUnitAction.ShouldBe(FinalUnitAction.None);
        reserve.Rate.Prefix.ShouldBe("44");

        var first = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 60, requestedSeconds: 60));
        first.ResultCode.ShouldBe(ResultCode.Success);
        first.Charged.AmountMicros.ShouldBe(70_000);
        first.GrantedSeconds.ShouldBe(60u);
        first.Reserved.AmountMicros.ShouldBe(60_000);

        var second = await gateway.Charging.UpdateAsync(Update(tenant, session, 2, usedSeconds: 30, requestedSeconds: 60));
        second.Charged.AmountMicros.ShouldBe(30_000);
        second.SessionCharged.AmountMicros.ShouldBe(100_000);

        var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 3, usedSeconds: 15));
        end.ResultCode.ShouldBe(ResultCode.Success);
        end.Charged.AmountMicros.ShouldBe(15_000);
        end.SessionCharged.AmountMicros.ShouldBe(115_000);
        end.UsedSeconds.ShouldBe(105u);
        end.BilledSeconds.ShouldBe(105u);

        var ledger = await gateway.LedgerAsync(tenant);
        ledger.Debited.ShouldBe(115_000);
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((1L, 115_000L));
        var redis = await gateway.RedisAccountAsync(tenant);
        redis.ShouldBe((10_000_000 - 115_000L, 0L));
        redis!.Value.Balance.ShouldBe(ledger.Sum);
        (await gateway.PendingCountAsync(tenant)).ShouldBe(0);
    }

    [Fact]
    public async Task Every_request_sent_twice_and_an_update_replayed_after_terminate_charge_once()
    {
        // Proves idempotency on (session, request number): each request is sent twice, one pair concurrently, and an
        // Update is replayed after Terminate; the answers repeat and the money moves once.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();

        var reserve = await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        (await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60))).ShouldBe(reserve);

        var update = Update(tenant, session, 1, usedSeconds: 45, requestedSeconds: 60);
        var both = await Task.WhenAll(gateway.Charging.UpdateAsync(update), gateway.Charging.UpdateAsync(update));
        both[0].ShouldBe(both[1]);
        both[0].Charged.AmountMicros.ShouldBe(60_000);

        var terminate = Terminate(tenant, session, 2, usedSeconds: 70);
        var end = await gateway.Charging.TerminateAsync(terminate);
        (await gateway.Charging.TerminateAsync(terminate)).ShouldBe(end);
        end.SessionCharged.AmountMicros.ShouldBe(120_000);

        (await gateway.Charging.UpdateAsync(update)).ShouldBe(both[0]);
        var late = await gateway.Charging.UpdateAsync(Update(tenant, session, 5, usedSeconds: 60, requestedSeconds: 60));
        late.ResultCode.ShouldBe(ResultCode.UnknownSessionId);

        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(120_000);
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((1L, 120_000L));
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((10_000_000 - 120_000L, 0L));
    }

    [Fact]
    public async Task Updates_out_of_sequence_charge_what_they_charge_in_sequence()
    {
        // Proves RFC 8506 section 5.1 handling: updates 2 and 1 arriving in that order are both answered and the call
        // costs the same as in order, because charging is on cumulative usage, rounded once.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));

        var two = await gateway.Charging.UpdateAsync(Update(tenant, session, 2, usedSeconds: 40, requestedSeconds: 60));
        var one = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 30, requestedSeconds: 60));
        two.ResultCode.ShouldBe(ResultCode.Success);
        one.ResultCode.ShouldBe(ResultCode.Success);
        one.SessionCharged.AmountMicros.ShouldBe(120_000); // 70 s used, billed 120 s in 60/60
        var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 3, usedSeconds: 0));
        end.SessionCharged.AmountMicros.ShouldBe(120_000);
        end.UsedSeconds.ShouldBe(70u);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(120_000);
    }

    [Fact]
    public async Task A_request_number_reused_for_a_different_request_is_refused_and_changes_nothing()
    {
        // Proves the fingerprint check: the same (session, number) with other used seconds is not a retry.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 60, requestedSeconds: 60));

        var refused = await Should.ThrowAsync<CommsCredits.Grpc.Protocol.RpcException>(
            () => gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 61, requestedSeconds: 60)));
        refused.StatusCode.ShouldBe(CommsCredits.Grpc.Protocol.StatusCode.FailedPrecondition);
        refused.Status.Detail.ShouldContain("request number 1");
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(60_000);
    }

    [Fact]
    public async Task A_balance_that_runs_out_gives_a_final_grant_then_credit_limit_reached_and_never_goes_negative()
    {
        // Proves grant sizing at the edge: 0.15 EUR at 0.06/min (60/60) pays two minutes; the first grant of 300 s is
        // cut to 120 s with TERMINATE; a further update debits the usage and answers 4012 with nothing granted.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(150_000, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();

        var reserve = await gateway.Charging.ReserveAsync(Reserve(tenant, session, 300));
        reserve.GrantedSeconds.ShouldBe(120u);
        reserve.FinalUnitAction.ShouldBe(FinalUnitAction.Terminate);
        reserve.Reserved.AmountMicros.ShouldBe(120_000);

        var other = await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60));
        other.ResultCode.ShouldBe(ResultCode.CreditLimitReached);
        other.GrantedSeconds.ShouldBe(0u);

        var update = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 120, requestedSeconds: 60));
        update.ResultCode.ShouldBe(ResultCode.CreditLimitReached);
        update.Charged.AmountMicros.ShouldBe(120_000);
        update.GrantedSeconds.ShouldBe(0u);

        await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, usedSeconds: 0));
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((30_000L, 0L));
        (await gateway.LedgerAsync(tenant)).Sum.ShouldBe(30_000);
    }

    [Fact]
    public async Task Usage_past_the_grant_is_charged_only_as_far_as_the_balance_goes()
    {
        // Proves the no-negative-balance rule when a network element over-reports: it used 10 minutes on a 1-minute
        // grant; the debit stops at the balance and the CDR records the rest as uncharged.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(100_000, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));

        var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 1, usedSeconds: 600));
        end.SessionCharged.AmountMicros.ShouldBe(100_000);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((0L, 0L));
        (await gateway.LedgerAsync(tenant)).Sum.ShouldBe(0);
        await using var connection = new Npgsql.NpgsqlConnection(gateway.PostgresConnectionString);
        var uncharged = await Dapper.SqlMapper.ExecuteScalarAsync<long>(
            connection, "SELECT uncharged_micros FROM call_records WHERE tenant_id = @tenant", new { tenant });
        uncharged.ShouldBe(500_000);
    }

    [Fact]
    public async Task Updates_for_sessions_that_are_not_open_are_answered_unknown_session()
    {
        // Proves 5002: never reserved, and denied at reserve (a denied session is not open).
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(0, Rate("44", 60_000));
        var never = await gateway.Charging.UpdateAsync(Update(tenant, NewSessionId(), 1, 10, 60));
        never.ResultCode.ShouldBe(ResultCode.UnknownSessionId);

        var denied = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, denied, 60))).ResultCode.ShouldBe(ResultCode.CreditLimitReached);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, denied, 1, 10))).ResultCode.ShouldBe(ResultCode.UnknownSessionId);
        (await gateway.LedgerAsync(tenant)).Sum.ShouldBe(0);
    }

    [Fact]
    public async Task The_call_record_says_what_the_call_still_owes_not_a_sum_of_each_requests_shortfall()
    {
        // Proves the call record's uncharged amount: 1 EUR of balance, 1 EUR a minute in 60/60. The Update reports
        // 120 s against a 60 s grant: 1 EUR is debited and 1 EUR is owed. The Terminate adds nothing used, so the call
        // still owes 1 EUR, not the 2 EUR a sum of the two requests' shortfalls would say.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 1_000_000, first: 60, next: 60));
        var session = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60))).GrantedSeconds.ShouldBe(60u);

        var update = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 120, requestedSeconds: 60));
        (update.ResultCode, update.Charged.AmountMicros).ShouldBe((ResultCode.CreditLimitReached, 1_000_000L));
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, usedSeconds: 0))).SessionCharged.AmountMicros.ShouldBe(1_000_000);

        await using var connection = new Npgsql.NpgsqlConnection(gateway.PostgresConnectionString);
        var uncharged = await Dapper.SqlMapper.ExecuteScalarAsync<long>(
            connection, "SELECT uncharged_micros FROM call_records WHERE tenant_id = @tenant AND session_id = @session", new { tenant, session });
        uncharged.ShouldBe(1_000_000);
    }
}
