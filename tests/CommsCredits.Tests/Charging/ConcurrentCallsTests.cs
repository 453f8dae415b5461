namespace CommsCredits.Tests.Charging;

using CommsCredits.Contracts.V1;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>Many calls of one tenant at once, sharing one balance that covers only some of them.</summary>
public class ConcurrentCallsTests
{
    /// <summary>The gateway the tests run on: the shared one, on a single Redis; a derived class runs them on another.</summary>
    protected virtual Task<GatewayInstance> GatewayAsync() => SharedGateway.GetAsync();

    private const int CallCount = 250;

    [Fact]
    public async Task Concurrent_calls_never_overdraw_and_every_micro_is_accounted_for()
    {
        // Proves invariants 1 and 2 under contention: 250 calls race for a balance that pays for about 13 of them.
        // No grant exceeds what was available, the balance never goes below zero, and
        // total debited = sum of CDR charges = funded - final balance, in the ledger and in Redis.
        var gateway = await GatewayAsync();
        const long funded = 1_600_000;
        var tenant = await gateway.CreateTenantAsync(funded, Rate("44", 60_000, first: 60, next: 60));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, CallCount).Select(_ => RunCallAsync(gateway, tenant)));

        var granted = outcomes.Count(outcome => outcome.Granted);
        granted.ShouldBeGreaterThan(0);
        granted.ShouldBeLessThan(CallCount);
        outcomes.Sum(outcome => outcome.Charged).ShouldBeLessThanOrEqualTo(funded);

        var ledger = await gateway.LedgerAsync(tenant);
        var records = await gateway.CallRecordsAsync(tenant);
        var redis = (await gateway.RedisAccountAsync(tenant))!.Value;
        records.Count.ShouldBe(granted);
        ledger.Debited.ShouldBe(records.Charged);
        ledger.Debited.ShouldBe(outcomes.Sum(outcome => outcome.Charged));
        ledger.Sum.ShouldBe(funded - ledger.Debited);
        ledger.Sum.ShouldBeGreaterThanOrEqualTo(0);
        redis.ShouldBe((ledger.Sum, 0L));
        (await gateway.PendingCountAsync(tenant)).ShouldBe(0);
    }

    private static async Task<(bool Granted, long Charged)> RunCallAsync(GatewayInstance gateway, string tenant)
    {
        var session = NewSessionId();
        var reserve = await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        if (reserve.ResultCode != ResultCode.Success)
        {
            reserve.ResultCode.ShouldBe(ResultCode.CreditLimitReached);
            return (false, 0);
        }

        reserve.Reserved.AmountMicros.ShouldBeLessThanOrEqualTo(60_000);
        var update = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: reserve.GrantedSeconds, requestedSeconds: 60));
        var used = update.GrantedSeconds / 2;
        var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, usedSeconds: used));
        end.SessionCharged.AmountMicros.ShouldBe(update.Charged.AmountMicros + end.Charged.AmountMicros);
        return (true, end.SessionCharged.AmountMicros);
    }
}
