namespace CommsCredits.Tests.Funding;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Funding;
using CommsCredits.Gateway.Ledger;
using Dapper;
using Npgsql;
using CommsCredits.Tests.Charging;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// Invariants 1 and 5 under random use: sequences of fundings, calls (some left open across an expiry or a loss of
/// Redis), direct debits, refunds, expiries and losses of the tenant's Redis state, each against a real gateway, Redis
/// and PostgreSQL.
/// </summary>
[Collection(FundingCollection.Name)]
public sealed class MoneyConservationPropertyTests(FundingGateway fixture)
{
    private const long Euro = 1_000_000;
    private const string PayAsYouGoUser = "alice@example.com";
    private const string PoolUser = "dora";
    private const string PoolId = "gb";
    private const long PoolSizeSeconds = 3 * 60;
    private readonly GatewayInstance gateway = fixture.Gateway;

    [Fact]
    public async Task Money_is_conserved_after_every_step_of_any_sequence_of_fund_call_expire_refund_and_lost_Redis()
    {
        // Proves, after every step of every generated sequence: the balance Redis holds equals what the answers said
        // (fundings and refunds added, charges and forfeitures taken), equals the ledger's sum, equals the sum of the
        // lots in Redis and in the ledger lot by lot, and covers what is held. At the end, with every call closed, the
        // call records' charges equal the ledger's debits. Calls are made by a pay-as-you-go user (all credit) or by a
        // user on a domestic plan with a 3-minute pool (pool first): the pool's counter in Redis equals the month's
        // pool_usage in the ledger, never exceeds the pool, and holds nothing once no call is open. When Redis loses the
        // tenant, the rebuild restores the same balance, the same money and pool seconds held, and the open calls go on.
        var steps = from length in Gen.Choose(1, 12)
                    from sequence in Gen.ArrayOf(Steps(), length)
                    select sequence;
        var property = Prop.ForAll(steps.ToArbitrary(), sequence => RunSequenceAsync(sequence).GetAwaiter().GetResult());
        // FsCheck runs the property synchronously; off the test's synchronization context the blocking wait is safe.
        await Task.Run(() => Check.One(Config.QuickThrowOnFailure.WithMaxTest(30), property));
    }

    private async Task<bool> RunSequenceAsync(Step[] sequence)
    {
        var tenant = await gateway.CreateTenantAsync(0, Rate("44", 2 * Euro, connectionFeeMicros: 100_000, first: 60, next: 1));
        await gateway.Directory.PutUserAsync(Provisioning.Directories.User(tenant, PoolUser, CallingPlan.Domestic));
        await gateway.Directory.PutMinutePoolAsync(Provisioning.Directories.Pool(tenant, PoolId, 3, ["44"], ["GB"]));
        await gateway.DirectoryLoadedAsync(tenant);
        var model = new Model();
        // A tenant nothing has touched yet has no hot state; a balance check builds it from the (empty) ledger.
        await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant });
        foreach (var step in sequence)
        {
            await ApplyAsync(tenant, step, model);
            await CheckAsync(tenant, model);
        }

        foreach (var open in model.OpenSessions)
        {
            model.BalanceMicros -= (await gateway.Charging.TerminateAsync(Terminate(tenant, open, 1, 30))).Charged.AmountMicros;
        }

        model.OpenSessions.Clear();
        await CheckAsync(tenant, model);
        var calls = await gateway.CallRecordsAsync(tenant);
        calls.Charged.ShouldBe((await gateway.LedgerAsync(tenant)).Debited);
        return true;
    }

    private async Task ApplyAsync(string tenant, Step step, Model model)
    {
        switch (step)
        {
            case Step.Fund fund:
                var funded = await gateway.Accounts.AddFundsAsync(new AddFundsRequest
                {
                    TenantId = tenant, Amount = new Money { AmountMicros = fund.Micros, Currency = "EUR" }, IdempotencyKey = Guid.NewGuid().ToString("N"),
                });
                model.BalanceMicros += funded.Funded.AmountMicros;
                break;
            case Step.Call call:
                model.BalanceMicros -= await CallAsync(tenant, call);
                break;
            case Step.OpenCall open:
                var session = NewSessionId();
                var reserve = await gateway.Charging.ReserveAsync(By(open.User, Reserve(tenant, session, open.Seconds)));
                if (reserve.ResultCode == ResultCode.Success)
                {
                    model.OpenSessions.Add(session);
                }

                break;
            case Step.DirectDebit debit:
                model.BalanceMicros -= (await gateway.Charging.DebitAsync(new DebitRequest
                {
                    SessionId = NewSessionId(), TenantId = tenant, UserId = debit.User, CallType = CallType.OutboundPstn,
                    CallingNumber = "+14155550100", CalledNumber = UkFixed, UsedSeconds = debit.Seconds,
                })).Charged.AmountMicros;
                break;
            case Step.Refund refund:
                model.BalanceMicros += (await gateway.Charging.RefundAsync(new RefundRequest
                {
                    SessionId = NewSessionId(), TenantId = tenant, Amount = new Money { AmountMicros = refund.Micros, Currency = "EUR" }, Reason = "property",
                })).Refunded.AmountMicros;
                break;
            case Step.LoseRedis:
                var held = await gateway.Redis.HashGetAsync(HotStateKeys.Account(tenant), ["held", "ph:" + PoolId]);
                await gateway.LoseHotStateAsync(tenant);
                await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant });
                var restored = await gateway.Redis.HashGetAsync(HotStateKeys.Account(tenant), ["held", "ph:" + PoolId]);
                ((long)restored[0], (long)restored[1]).ShouldBe(((long)held[0], (long)held[1]));
                break;
            case Step.Expire expire:
                gateway.Clock.Advance(TimeSpan.FromDays(expire.Days));
                model.BalanceMicros -= await gateway.Services.GetRequiredService<FundingExpiryJob>().ExpireTenantAsync(tenant, gateway.Clock.GetUtcNow(), CancellationToken.None);
                break;
        }
    }

    /// <summary>A whole call: Reserve, an Update per slice but the last, Terminate with the last; returns what it was charged.</summary>
    private async Task<long> CallAsync(string tenant, Step.Call call)
    {
        var session = NewSessionId();
        var reserve = await gateway.Charging.ReserveAsync(By(call.User, Reserve(tenant, session, call.ReserveSeconds)));
        if (reserve.ResultCode != ResultCode.Success)
        {
            return 0;
        }

        long charged = 0;
        uint number = 1;
        foreach (var used in call.UsedSeconds[..^1])
        {
            charged += (await gateway.Charging.UpdateAsync(Update(tenant, session, number++, used, 60))).Charged.AmountMicros;
        }

        return charged + (await gateway.Charging.TerminateAsync(Terminate(tenant, session, number, call.UsedSeconds[^1]))).Charged.AmountMicros;
    }

    private async Task CheckAsync(string tenant, Model model)
    {
        await gateway.ShouldConserveMoneyAsync(tenant);
        var (balance, held) = (await gateway.RedisAccountAsync(tenant))!.Value;
        balance.ShouldBe(model.BalanceMicros);
        held.ShouldBeInRange(0, balance);

        var now = gateway.Clock.GetUtcNow();
        var counters = await gateway.Redis.HashGetAsync(HotStateKeys.Account(tenant), ["pm:" + PoolId, "pu:" + PoolId, "ph:" + PoolId]);
        var usedThisMonth = string.Equals(counters[0], SettlementCodec.FormatMonth(now), StringComparison.Ordinal) ? (long)counters[1] : 0;
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var ledgerUse = await connection.ExecuteScalarAsync<long>(
            "SELECT coalesce(sum(seconds), 0)::bigint FROM pool_usage WHERE tenant_id = @tenant AND pool_id = @pool AND month = @month",
            new { tenant, pool = PoolId, month = new DateOnly(now.UtcDateTime.Year, now.UtcDateTime.Month, 1) });
        usedThisMonth.ShouldBe(ledgerUse);
        var poolHeld = counters[2].IsNull ? 0 : (long)counters[2];
        (usedThisMonth + poolHeld).ShouldBeLessThanOrEqualTo(PoolSizeSeconds);
        if (model.OpenSessions.Count == 0)
        {
            poolHeld.ShouldBe(0);
        }
    }

    private static ReserveRequest By(string userId, ReserveRequest request)
    {
        request.UserId = userId;
        return request;
    }

    private static Gen<Step> Steps()
    {
        var users = Gen.Elements(PayAsYouGoUser, PoolUser);
        return Gen.Frequency(
            (3, Gen.Choose(50, 200).Select(euros => (Step)new Step.Fund(euros * Euro))),
            (4, from user in users
                from reserve in Gen.Choose(1, 900)
                from slices in Gen.Choose(1, 4)
                from used in Gen.ArrayOf(Gen.Choose(0, 400), slices)
                select (Step)new Step.Call(user, (uint)reserve, used.Select(seconds => (uint)seconds).ToArray())),
            (1, from user in users from seconds in Gen.Choose(1, 600) select (Step)new Step.OpenCall(user, (uint)seconds)),
            (2, from user in users from seconds in Gen.Choose(1, 1_200) select (Step)new Step.DirectDebit(user, (uint)seconds)),
            (1, Gen.Choose(1, 30_000_000).Select(micros => (Step)new Step.Refund(micros))),
            (2, Gen.Elements(1, 40, 200, 366, 400).Select(days => (Step)new Step.Expire(days))),
            (1, Gen.Constant((Step)new Step.LoseRedis())));
    }

    private sealed class Model
    {
        public long BalanceMicros { get; set; }

        public List<string> OpenSessions { get; } = [];
    }

    /// <summary>One operation of a generated sequence.</summary>
    public abstract record Step
    {
        public sealed record Fund(long Micros) : Step;

        public sealed record Call(string User, uint ReserveSeconds, uint[] UsedSeconds) : Step
        {
            public override string ToString() => $"Call {{ User = {User}, ReserveSeconds = {ReserveSeconds}, UsedSeconds = [{string.Join(", ", UsedSeconds)}] }}";
        }

        public sealed record OpenCall(string User, uint Seconds) : Step;

        public sealed record DirectDebit(string User, uint Seconds) : Step;

        public sealed record Refund(long Micros) : Step;

        public sealed record Expire(int Days) : Step;

        public sealed record LoseRedis : Step;
    }
}
