using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Rating;

/// <summary>Worked examples of the charging rules, each computed by hand.</summary>
public sealed class TariffMathExampleTests
{
    [Theory]
    // 60/60: whole minutes.
    [InlineData(0, 60, 60, 0)]
    [InlineData(1, 60, 60, 60)]
    [InlineData(60, 60, 60, 60)]
    [InlineData(61, 60, 60, 120)]
    [InlineData(119, 60, 60, 120)]
    [InlineData(120, 60, 60, 120)]
    // 60/1: a first minute, then per second.
    [InlineData(1, 60, 1, 60)]
    [InlineData(60, 60, 1, 60)]
    [InlineData(61, 60, 1, 61)]
    [InlineData(125, 60, 1, 125)]
    // 1/1: per second.
    [InlineData(1, 1, 1, 1)]
    [InlineData(59, 1, 1, 59)]
    // 30/6: 30 seconds, then 6-second steps; 95 s = 30 + ceil(65 / 6) * 6 = 30 + 66.
    [InlineData(1, 30, 6, 30)]
    [InlineData(30, 30, 6, 30)]
    [InlineData(31, 30, 6, 36)]
    [InlineData(36, 30, 6, 36)]
    [InlineData(37, 30, 6, 42)]
    [InlineData(95, 30, 6, 96)]
    // Limits: 7 days is on the 3600/3600 grid; at 1/3600 it bills 1 + 168 * 3600; at 3599/3600 it bills
    // 3599 + ceil(601,201 / 3600) * 3600 = 3599 + 168 * 3600, the most billed time of any call.
    [InlineData(604_800, 3_600, 3_600, 604_800)]
    [InlineData(604_800, 1, 3_600, 604_801)]
    [InlineData(604_800, 3_599, 3_600, 608_399)]
    public void Billed_seconds_round_used_time_up_to_the_increment_grid(long used, long first, long next, long expected)
    {
        // Proves BilledSeconds on hand-computed cases of the common increment schemes.
        TariffMath.BilledSeconds(used, first, next).ShouldBe(expected);
    }

    [Theory]
    // 1.20 per minute, 60/60: 61 s bill 120 s = 2.40.
    [InlineData(120, 1_200_000, 0, 2_400_000)]
    // The same with a 0.15 connection fee.
    [InlineData(120, 1_200_000, 150_000, 2_550_000)]
    // 1.00 per minute, 1 s: ceil(1,000,000 / 60) = ceil(16,666.67) = 16,667.
    [InlineData(1, 1_000_000, 0, 16_667)]
    // Sub-micro rates round up to a whole micro: 1 micro per minute.
    [InlineData(1, 1, 0, 1)]
    [InlineData(59, 1, 0, 1)]
    [InlineData(60, 1, 0, 1)]
    [InlineData(61, 1, 0, 2)]
    // A zero rate costs only the fee, and nothing when nothing is billed.
    [InlineData(600, 0, 250_000, 250_000)]
    [InlineData(0, 0, 250_000, 0)]
    [InlineData(0, 1_200_000, 150_000, 0)]
    // The most expensive call: 1e9 + 608,400 * 1e9 / 60 = 1e9 + 10,140,000,000,000.
    [InlineData(608_400, 1_000_000_000, 1_000_000_000, 10_141_000_000_000)]
    public void Cost_is_fee_plus_billed_time_times_rate_rounded_up_once(long billed, long rate, long fee, long expected)
    {
        // Proves CostMicros on hand-computed cases, including sub-micro rates and the largest call.
        TariffMath.CostMicros(billed, rate, fee).ShouldBe(expected);
    }

    [Fact]
    public void A_call_charged_second_by_second_costs_the_same_as_charged_at_once()
    {
        // Proves rounding happens on the cumulative time: at 1 micro per minute, 60 one-second slices cost 1 micro, not 60.
        var tariff = RatingTestData.Tariff(rateMicrosPerMinute: 1, first: 1, next: 1);
        long charged = 0;
        for (var used = 1; used <= 60; used++)
        {
            charged += TariffMath.CallCostMicros(used, tariff) - TariffMath.CallCostMicros(used - 1, tariff);
        }

        charged.ShouldBe(1);
        TariffMath.CallCostMicros(60, tariff).ShouldBe(1);
    }

    [Theory]
    // 1.20 per minute, 60/1: 1.00 buys floor(60 * 1.0 / 1.2) = 50 s < 60, so nothing.
    [InlineData(0, 1_000_000, 1_200_000, 0, 60, 1, 0)]
    [InlineData(0, 1_200_000, 1_200_000, 0, 60, 1, 60)]
    // 1.50 buys 75 s: cost(75) = 1.50 exactly, cost(76) = 1.52.
    [InlineData(0, 1_500_000, 1_200_000, 0, 60, 1, 75)]
    // After 60 s debited 1.20, another 0.30 extends the call to 75 s in all.
    [InlineData(1_200_000, 300_000, 1_200_000, 0, 60, 1, 75)]
    // 30/6 at 0.60 per minute, fee 0.05, money 0.40: 60 * 0.35 / 0.60 = 35 s, on the grid 30.
    [InlineData(0, 400_000, 600_000, 50_000, 30, 6, 30)]
    // 1 micro per minute, 1 micro of money: 60 s on the 1/1 grid.
    [InlineData(0, 1, 1, 0, 1, 1, 60)]
    // A fee that is not affordable buys nothing; an affordable one with a zero rate buys the cap.
    [InlineData(0, 499, 0, 500, 60, 60, 0)]
    [InlineData(0, 500, 0, 500, 60, 60, 604_800)]
    [InlineData(0, 500, 0, 500, 7, 13, 604_793)]
    // Money at the limit: the cap.
    [InlineData(1_000_000_000_000_000, 1_000_000_000_000_000, 1, 0, 1, 1, 604_800)]
    [InlineData(0, 1_000_000_000_000_000, 1_000_000_000, 1_000_000_000, 60, 60, 604_800)]
    public void Affordable_total_is_the_last_grid_point_the_money_pays_for(
        long debited, long money, long rate, long fee, long first, long next, long expected)
    {
        // Proves AffordableTotalSeconds on hand-computed grants (the 7/13 grid below 604,800 ends at 7 + 46,522 * 13).
        var tariff = RatingTestData.Tariff(rateMicrosPerMinute: rate, connectionFeeMicros: fee, first: first, next: next);
        TariffMath.AffordableTotalSeconds(debited, money, tariff).ShouldBe(expected);
    }

    [Fact]
    public void Affordable_total_respects_a_smaller_cap_on_the_grid()
    {
        // Proves a cap below what the money buys limits the total to the last grid point under the cap.
        TariffMath.AffordableTotalSeconds(0, 1_000_000_000, 60_000, 0, 60, 60, capSeconds: 150).ShouldBe(120);
        TariffMath.AffordableTotalSeconds(0, 1_000_000_000, 60_000, 0, 60, 60, capSeconds: 59).ShouldBe(0);
        TariffMath.AffordableTotalSeconds(0, 1_000_000_000, 60_000, 0, 60, 60, capSeconds: 0).ShouldBe(0);
    }

    [Fact]
    public void Arguments_outside_the_limits_are_rejected()
    {
        // Proves every function refuses values outside MoneyLimits instead of computing an unchecked charge.
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.BilledSeconds(-1, 60, 60));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.BilledSeconds(MoneyLimits.MaxSessionSeconds + 1, 60, 60));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.BilledSeconds(10, 0, 60));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.BilledSeconds(10, 60, 3_601));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.CostMicros(MoneyLimits.MaxBilledSeconds + 1, 1, 0));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.CostMicros(-1, 1, 0));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.CostMicros(60, MoneyLimits.MaxRatePerMinuteMicros + 1, 0));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.CostMicros(60, 1, -1));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.CostMicros(60, 1, MoneyLimits.MaxConnectionFeeMicros + 1));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.AffordableTotalSeconds(-1, 0, 1, 0, 1, 1, 60));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.AffordableTotalSeconds(0, -1, 1, 0, 1, 1, 60));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.AffordableTotalSeconds(0, MoneyLimits.MaxBalanceMicros + 1, 1, 0, 1, 1, 60));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.AffordableTotalSeconds(0, 0, 1, 0, 1, 1, MoneyLimits.MaxSessionSeconds + 1));
        Should.Throw<ArgumentOutOfRangeException>(() => TariffMath.AffordableTotalSeconds(0, 0, 1, 0, 1, 0, 60));
    }

    [Fact]
    public void The_limits_keep_every_lua_intermediate_below_two_to_the_53()
    {
        // Proves the bounds written in docs/rating.md: the largest product, sum and call cost stay exact as doubles.
        (MoneyLimits.MaxBilledSeconds * MoneyLimits.MaxRatePerMinuteMicros).ShouldBeLessThan(MoneyLimits.LuaExactIntegerLimit);
        (2 * MoneyLimits.MaxBalanceMicros).ShouldBeLessThan(MoneyLimits.LuaExactIntegerLimit);
        (8 * MoneyLimits.MaxBalanceMicros).ShouldBeLessThan(MoneyLimits.LuaExactIntegerLimit);
        (60 * MoneyLimits.MaxRatePerMinuteMicros).ShouldBeLessThan(MoneyLimits.LuaExactIntegerLimit);
        (60 * MoneyLimits.MaxSessionSeconds).ShouldBeLessThan(MoneyLimits.LuaExactIntegerLimit);
        MoneyLimits.MaxCallCostMicros.ShouldBe(10_141_000_000_000);
        MoneyLimits.MaxCallCostMicros.ShouldBeLessThan(MoneyLimits.MaxBalanceMicros);
        MoneyLimits.LuaExactIntegerLimit.ShouldBe(1L << 53);
    }
}
