using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace CommsCredits.Tests.Rating;

/// <summary>Properties of the charging arithmetic over the whole range of MoneyLimits.</summary>
public sealed class TariffMathPropertyTests
{
    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(3_000);

    [Fact]
    public void Billed_time_covers_used_time_by_less_than_one_increment_and_lies_on_the_grid()
    {
        // Proves billed ≥ used, billed − used < the increment that applies, and billed is a grid point.
        var cases = from tariff in RatingGenerators.Tariff()
                    from used in RatingGenerators.Long(0, MoneyLimits.MaxSessionSeconds)
                    select (tariff, used);
        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), testCase =>
        {
            var (tariff, used) = testCase;
            var billed = TariffMath.BilledSeconds(used, tariff.FirstIncrementSeconds, tariff.NextIncrementSeconds);
            var increment = used <= tariff.FirstIncrementSeconds ? tariff.FirstIncrementSeconds : tariff.NextIncrementSeconds;
            var onGrid = billed == 0 || (billed >= tariff.FirstIncrementSeconds
                && (billed - tariff.FirstIncrementSeconds) % tariff.NextIncrementSeconds == 0);
            return billed >= used && billed - used < increment && onGrid && (billed == 0) == (used == 0);
        }));
    }

    [Fact]
    public void Billed_time_is_the_first_grid_point_at_or_after_used_time()
    {
        // Proves BilledSeconds against a brute-force walk along the grid, for every small increment scheme.
        for (long first = 1; first <= 12; first++)
        {
            for (long next = 1; next <= 12; next++)
            {
                for (long used = 0; used <= 100; used++)
                {
                    var gridPoint = used == 0 ? 0 : first;
                    while (gridPoint < used)
                    {
                        gridPoint += next;
                    }

                    Assert.Equal(gridPoint, TariffMath.BilledSeconds(used, first, next));
                }
            }
        }
    }

    [Fact]
    public void Cost_never_decreases_as_used_time_grows()
    {
        // Proves a longer call never costs less, so a slice charge (a difference of costs) is never negative.
        var cases = from tariff in RatingGenerators.Tariff()
                    from shorter in RatingGenerators.Long(0, MoneyLimits.MaxSessionSeconds)
                    from extra in RatingGenerators.Long(0, MoneyLimits.MaxSessionSeconds - shorter)
                    select (tariff, shorter, longer: shorter + extra);
        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), testCase =>
            CallCost(testCase.tariff, testCase.shorter) <= CallCost(testCase.tariff, testCase.longer)));
    }

    [Fact]
    public void Cost_matches_the_formula_in_arbitrary_precision()
    {
        // Proves CostMicros is fee + ceil(billed × rate / 60) exactly, checked against 128-bit arithmetic.
        var cases = from tariff in RatingGenerators.Tariff()
                    from billed in RatingGenerators.Long(0, MoneyLimits.MaxBilledSeconds)
                    select (tariff, billed);
        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), testCase =>
        {
            var (tariff, billed) = testCase;
            var product = (Int128)billed * tariff.RateMicrosPerMinute;
            var expected = billed == 0 ? 0 : tariff.ConnectionFeeMicros + ((product + 59) / 60);
            return TariffMath.CostMicros(billed, tariff.RateMicrosPerMinute, tariff.ConnectionFeeMicros) == expected;
        }));
    }

    [Fact]
    public void Slice_charges_add_up_exactly_to_the_whole_call_cost()
    {
        // Proves charging slice k as Cost(Billed(U_k)) − Cost(Billed(U_k−1)) sums to Cost(Billed(U_n)), each slice ≥ 0.
        var cases = from tariff in RatingGenerators.Tariff()
                    from slices in Gen.ListOf(RatingGenerators.Long(0, MoneyLimits.MaxSecondsPerRequest))
                    select (tariff, slices);
        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), testCase =>
        {
            long usedSeconds = 0;
            long chargedMicros = 0;
            var everySliceNonNegative = true;
            foreach (var sliceSeconds in testCase.slices)
            {
                var nextUsedSeconds = Math.Min(MoneyLimits.MaxSessionSeconds, usedSeconds + sliceSeconds);
                var sliceMicros = CallCost(testCase.tariff, nextUsedSeconds) - CallCost(testCase.tariff, usedSeconds);
                everySliceNonNegative &= sliceMicros >= 0;
                chargedMicros += sliceMicros;
                usedSeconds = nextUsedSeconds;
            }

            return everySliceNonNegative && chargedMicros == CallCost(testCase.tariff, usedSeconds);
        }));
    }

    [Fact]
    public void Affordable_total_matches_a_brute_force_search_on_small_values()
    {
        // Proves AffordableTotalSeconds equals the largest grid point ≤ cap whose cost fits, found by walking the grid.
        // A zero rate and money right at the connection fee are drawn often: that is where the boundaries are.
        var cases = from rate in Gen.Frequency((1, Gen.Constant(0)), (3, Gen.Choose(0, 200)))
                    from fee in Gen.Choose(0, 100)
                    from first in Gen.Choose(1, 10)
                    from next in Gen.Choose(1, 10)
                    from debited in Gen.Choose(0, 300)
                    from money in Gen.Frequency(
                        (1, Gen.Choose(-2, 2).Select(offset => Math.Max(0, fee - debited + offset))),
                        (3, Gen.Choose(0, 300)))
                    from cap in Gen.Choose(0, 200)
                    select new[] { debited, money, rate, fee, first, next, cap };
        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), values =>
        {
            long debited = values[0], money = values[1], rate = values[2], fee = values[3];
            long first = values[4], next = values[5], cap = values[6];
            long best = 0;
            for (var total = first; total <= cap; total += next)
            {
                if (TariffMath.CostMicros(total, rate, fee) - debited <= money)
                {
                    best = total;
                }
            }

            return TariffMath.AffordableTotalSeconds(debited, money, rate, fee, first, next, cap) == best;
        }));
    }

    [Fact]
    public void Affordable_total_fits_the_money_and_the_next_grid_point_does_not()
    {
        // Proves, over the full ranges, the answer is a grid point ≤ cap that fits while the next one exceeds the cap or the money.
        var cases = from tariff in RatingGenerators.Tariff()
                    from debited in RatingGenerators.Long(0, MoneyLimits.MaxBalanceMicros)
                    from money in RatingGenerators.Long(0, MoneyLimits.MaxBalanceMicros)
                    from cap in RatingGenerators.Long(0, MoneyLimits.MaxSessionSeconds)
                    select (tariff, debited, money, cap);
        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), testCase =>
        {
            var (tariff, debited, money, cap) = testCase;
            var total = TariffMath.AffordableTotalSeconds(
                debited, money, tariff.RateMicrosPerMinute, tariff.ConnectionFeeMicros,
                tariff.FirstIncrementSeconds, tariff.NextIncrementSeconds, cap);
            var onGrid = total == 0 || (total >= tariff.FirstIncrementSeconds
                && (total - tariff.FirstIncrementSeconds) % tariff.NextIncrementSeconds == 0);
            var nextTotal = total == 0 ? tariff.FirstIncrementSeconds : total + tariff.NextIncrementSeconds;
            var nextDoesNotFit = nextTotal > cap || Cost(tariff, nextTotal) - debited > money;
            return onGrid && total <= cap && Cost(tariff, total) - debited <= money && nextDoesNotFit;
        }));
    }

    [Fact]
    public void A_grant_sized_by_affordability_never_holds_more_than_the_money()
    {
        // Proves the gateway's grant rule: after U seconds debited D, granting T − U holds Cost(Billed(T)) − D ≤ money.
        var cases = from tariff in RatingGenerators.Tariff()
                    from used in RatingGenerators.Long(0, MoneyLimits.MaxSessionSeconds)
                    from money in RatingGenerators.Long(0, 100_000_000_000)
                    select (tariff, used, money);
        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), testCase =>
        {
            var (tariff, used, money) = testCase;
            var debited = CallCost(tariff, used);
            var total = TariffMath.AffordableTotalSeconds(
                debited, money, tariff.RateMicrosPerMinute, tariff.ConnectionFeeMicros,
                tariff.FirstIncrementSeconds, tariff.NextIncrementSeconds, MoneyLimits.MaxSessionSeconds);
            if (total <= used)
            {
                return true;
            }

            var holdMicros = CallCost(tariff, total) - debited;
            return holdMicros >= 0 && holdMicros <= money
                && TariffMath.BilledSeconds(total, tariff.FirstIncrementSeconds, tariff.NextIncrementSeconds) == total;
        }));
    }

    private static long Cost(TariffNumbers tariff, long billedSeconds) =>
        TariffMath.CostMicros(billedSeconds, tariff.RateMicrosPerMinute, tariff.ConnectionFeeMicros);

    private static long CallCost(TariffNumbers tariff, long usedSeconds) =>
        Cost(tariff, TariffMath.BilledSeconds(usedSeconds, tariff.FirstIncrementSeconds, tariff.NextIncrementSeconds));
}
