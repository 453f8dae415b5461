namespace CommsCredits.Tests.Funding;

using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;
using static CommsCredits.Tests.Provisioning.Directories;

/// <summary>Included-minute pools start again every calendar month (UTC); they share the funding tests' movable clock.</summary>
[Collection(FundingCollection.Name)]
public sealed class PoolMonthTests(FundingGateway fixture)
{
    private const long Euro = 1_000_000;

    [Fact]
    public async Task A_used_up_pool_is_whole_again_in_the_next_month_and_a_rebuild_counts_only_this_months_use()
    {
        // Proves the monthly reset: a 1-minute pool is used up (the next call is on credit); a month later the same
        // call is included again. After Redis loses the tenant, the rebuilt counter holds this month's 60 s only, so
        // the month's pool is used up again rather than counted twice or forgotten.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(50 * Euro, Rate("44", Euro, first: 60, next: 60));
        await gateway.Directory.PutUserAsync(User(tenant, "alice", CallingPlan.Domestic));
        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "gb", 1, ["44"], ["GB"]));
        await gateway.DirectoryLoadedAsync(tenant);

        (await gateway.Charging.DebitAsync(Debit(tenant, 60))).IncludedSeconds.ShouldBe(60u);
        var onCredit = await gateway.Charging.DebitAsync(Debit(tenant, 60));
        (onCredit.IncludedSeconds, onCredit.Charged.AmountMicros).ShouldBe((0u, Euro));

        gateway.Clock.Advance(TimeSpan.FromDays(32));
        var nextMonth = await gateway.Charging.DebitAsync(Debit(tenant, 60));
        (nextMonth.IncludedSeconds, nextMonth.Charged.AmountMicros).ShouldBe((60u, 0L));

        await gateway.LoseHotStateAsync(tenant);
        var afterRebuild = await gateway.Charging.DebitAsync(Debit(tenant, 60));
        (afterRebuild.IncludedSeconds, afterRebuild.Charged.AmountMicros).ShouldBe((0u, Euro));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    private static DebitRequest Debit(string tenant, uint seconds) => new()
    {
        SessionId = NewSessionId(), TenantId = tenant, UserId = "alice", CallType = CallType.OutboundPstn, CallingNumber = Caller, CalledNumber = UkFixed,
        UsedSeconds = seconds,
    };
}
