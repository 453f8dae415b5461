namespace CommsCredits.Tests.Reports;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Reports;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;
using static CommsCredits.Tests.Reports.ReportCalls;

/// <summary>AdviseRecharge from a known history of debits, on a gateway of its own whose clock the test moves.</summary>
public sealed class RechargeAdvisorTests
{
    private const long Euro = 1_000_000;

    [Fact]
    public async Task The_advice_follows_a_known_three_day_history()
    {
        // Proves the advisor's figures from real debits: 10 EUR now, 4 EUR 25 h later, asked 49.5 h after the first
        // over 3 days. Daily spends (days counted back from now) are 10, 4 and 0: median 4, peak 10, total 14, two days
        // with spend. Of the 49 windows of 24 h, 23 hold the 10, 24 the 4 and 2 nothing: the 100th percentile is 10, the
        // 50th is 4. The recharge is 4 × cover_days, raised to Funding:MinimumOneOffMicros (20 EUR) when below it, and
        // the advice carries the tenant's current auto-recharge settings.
        await using var gateway = await GatewayInstance.StartAsync(null, "--Funding:MinimumOneOffMicros=20000000", "--Supervision:Enabled=false");
        var tenant = await gateway.CreateTenantAsync(50 * Euro, Rate("44", 10 * Euro, first: 1, next: 1));
        (await gateway.Charging.DebitAsync(Debit(tenant, 60))).Charged.AmountMicros.ShouldBe(10 * Euro);
        gateway.Clock.Advance(TimeSpan.FromHours(25));
        (await gateway.Charging.DebitAsync(Debit(tenant, 24))).Charged.AmountMicros.ShouldBe(4 * Euro);
        gateway.Clock.Advance(TimeSpan.FromHours(24.5));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await gateway.LedgerAsync(tenant)).Debited < 14 * Euro && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var all = await AdviseRechargeAsync(gateway, new AdviseRechargeRequest { TenantId = tenant, HistoryDays = 3, CoverDays = 10, Percentile = 100 });
        (all.Trigger.AmountMicros, all.LeadTimeSpend.AmountMicros, all.Recharge.AmountMicros).ShouldBe((10 * Euro, 10 * Euro, 40 * Euro));
        (all.TotalSpend.AmountMicros, all.DaysWithSpend, all.TypicalDailySpend.AmountMicros, all.PeakDailySpend.AmountMicros).ShouldBe((14 * Euro, 2u, 4 * Euro, 10 * Euro));
        (all.HistoryDays, all.LeadTimeHours, all.CoverDays, all.Percentile, all.Trigger.Currency).ShouldBe((3u, 24u, 10u, 100u, "EUR"));
        (all.HistoryBefore.ToDateTimeOffset() - all.HistoryFrom.ToDateTimeOffset()).ShouldBe(TimeSpan.FromDays(3));
        all.Notes.ShouldBeEmpty();
        all.Current.ShouldBe(await gateway.Accounts.GetAutoRechargeAsync(new GetAutoRechargeRequest { TenantId = tenant }));

        var median = await AdviseRechargeAsync(gateway, new AdviseRechargeRequest { TenantId = tenant, HistoryDays = 3, CoverDays = 2, Percentile = 50 });
        (median.Trigger.AmountMicros, median.Recharge.AmountMicros).ShouldBe((4 * Euro, 20 * Euro));
        median.Notes.ShouldContain(note => note.Contains("Funding:MinimumOneOffMicros", StringComparison.Ordinal));

        var defaults = await AdviseRechargeAsync(gateway, new AdviseRechargeRequest { TenantId = tenant });
        (defaults.HistoryDays, defaults.LeadTimeHours, defaults.CoverDays, defaults.Percentile).ShouldBe((30u, 24u, 30u, 95u));

        foreach (var (request, field) in new[]
        {
            (new AdviseRechargeRequest { TenantId = tenant, HistoryDays = 366 }, "history_days"),
            (new AdviseRechargeRequest { TenantId = tenant, LeadTimeHours = 721 }, "lead_time_hours"),
            (new AdviseRechargeRequest { TenantId = tenant, CoverDays = 366 }, "cover_days"),
            (new AdviseRechargeRequest { TenantId = tenant, Percentile = 49 }, "percentile"),
        })
        {
            var error = await Should.ThrowAsync<RpcException>(() => AdviseRechargeAsync(gateway, request));
            (error.StatusCode, error.Status.Detail.Contains(field, StringComparison.Ordinal)).ShouldBe((StatusCode.InvalidArgument, true));
        }

        (await Should.ThrowAsync<RpcException>(() => AdviseRechargeAsync(gateway, new AdviseRechargeRequest { TenantId = "nobody-here" }))).StatusCode.ShouldBe(StatusCode.NotFound);
    }

    [Fact]
    public void The_figures_are_capped_rounded_and_noted()
    {
        // Proves Compute's bounds: a lead time longer than the history covers it all; amounts are rounded up to a whole
        // unit; a recharge above Accounts:MaxFundingMicros is lowered to it; each with a note.
        long[] hourly = [1_500_001, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        var figures = RechargeAdvisor.Compute(hourly, leadTimeHours: 48, coverDays: 365, percentile: 95, minimumMicros: 1, maxMicros: 100 * Euro);
        (figures.LeadTimeMicros, figures.TriggerMicros, figures.TypicalDailyMicros).ShouldBe((1_500_001L, 2 * Euro, 1_500_001L));
        figures.RechargeMicros.ShouldBe(100 * Euro);
        figures.Notes.Count.ShouldBe(3);
        figures.Notes.ShouldContain(note => note.Contains("Accounts:MaxFundingMicros", StringComparison.Ordinal));
        RechargeAdvisor.NearestRank([5, 1, 4, 2, 3], 50).ShouldBe(3);
        RechargeAdvisor.NearestRank([5, 1, 4, 2, 3], 95).ShouldBe(5);
        RechargeAdvisor.NearestRank([], 95).ShouldBe(0);
    }

    [Fact]
    public void A_tenant_who_calls_on_few_days_is_advised_a_trigger_that_covers_a_day_of_its_calls()
    {
        // Proves the trigger counts only the lead-time windows that hold spend: a tenant who called for two hours (3 EUR
        // each) in 30 days has 25 such windows of the 697 of 24 h (23 hold both hours, 2 one), so over every window the
        // 95th percentile is 0, a trigger that recharges only once calls are refused. Over the 25 it is 6 EUR, with a note.
        // A tenant who spends every hour has no window without spend, and no note.
        var hourly = new long[30 * 24];
        (hourly[300], hourly[301]) = (3 * Euro, 3 * Euro);
        var sporadic = RechargeAdvisor.Compute(hourly, leadTimeHours: 24, coverDays: 30, percentile: 95, minimumMicros: 50 * Euro, maxMicros: 10_000 * Euro);
        (sporadic.LeadTimeMicros, sporadic.TriggerMicros, sporadic.TotalMicros, sporadic.DaysWithSpend).ShouldBe((6 * Euro, 6 * Euro, 6 * Euro, 1));
        sporadic.Notes.ShouldContain(note => note.Contains("25 of 697 windows", StringComparison.Ordinal) && note.Contains("it would be 0 micro-units", StringComparison.Ordinal));

        Array.Fill(hourly, Euro / 10);
        var steady = RechargeAdvisor.Compute(hourly, leadTimeHours: 24, coverDays: 30, percentile: 95, minimumMicros: 50 * Euro, maxMicros: 10_000 * Euro);
        (steady.LeadTimeMicros, steady.TriggerMicros).ShouldBe((24 * Euro / 10, 3 * Euro));
        steady.Notes.ShouldNotContain(note => note.Contains("windows that hold any spend", StringComparison.Ordinal));
    }

    private static DebitRequest Debit(string tenant, uint seconds) => new()
    {
        SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller, CalledNumber = UkFixed,
        UsedSeconds = seconds,
    };
}
