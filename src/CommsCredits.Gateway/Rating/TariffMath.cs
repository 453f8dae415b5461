using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating.Internal;

namespace CommsCredits.Gateway.Rating;

/// <summary>
/// The charging arithmetic, defined once for all C# code and mirrored exactly by
/// Balances/Scripts/tariff.lua (docs/rating.md states the rules and why they are exact).
/// </summary>
/// <remarks>
/// The rounding rule: a call costs its connection fee plus its billed time times the rate,
/// rounded up to the next whole micro-unit once, on the cumulative billed time of the call.
/// Slices of a call are charged as differences of that cumulative cost, never rounded one by
/// one, so however a call is sliced it costs the same. All functions are pure, use checked
/// 64-bit integers only, and throw <see cref="ArgumentOutOfRangeException"/> for arguments
/// outside <see cref="MoneyLimits"/>.
/// </remarks>
public static class TariffMath
{
    private const long SecondsPerMinute = 60;

    /// <summary>
    /// Used time rounded up to the increment grid {0, first, first + next, first + 2·next, …}:
    /// 0 when nothing was used, otherwise first + ceil(max(0, used − first) / next) · next.
    /// </summary>
    /// <param name="usedSeconds">0 to <see cref="MoneyLimits.MaxSessionSeconds"/>.</param>
    /// <param name="firstIncrementSeconds">1 to <see cref="MoneyLimits.MaxIncrementSeconds"/>.</param>
    /// <param name="nextIncrementSeconds">1 to <see cref="MoneyLimits.MaxIncrementSeconds"/>.</param>
    public static long BilledSeconds(long usedSeconds, long firstIncrementSeconds, long nextIncrementSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(usedSeconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(usedSeconds, MoneyLimits.MaxSessionSeconds);
        RequireIncrement(firstIncrementSeconds, nameof(firstIncrementSeconds));
        RequireIncrement(nextIncrementSeconds, nameof(nextIncrementSeconds));

        if (usedSeconds == 0)
        {
            return 0;
        }

        var beyondFirstSeconds = Math.Max(0, usedSeconds - firstIncrementSeconds);
        var billedSeconds = checked(firstIncrementSeconds
            + (CeilingDivide(beyondFirstSeconds, nextIncrementSeconds) * nextIncrementSeconds));
        MoneyInvariant.Require(
            billedSeconds >= usedSeconds && billedSeconds - usedSeconds < Math.Max(firstIncrementSeconds, nextIncrementSeconds),
            "billed time is used time rounded up by less than one increment");
        return billedSeconds;
    }

    /// <summary>Billed seconds of <paramref name="usedSeconds"/> under <paramref name="tariff"/>'s increments.</summary>
    public static long BilledSeconds(long usedSeconds, Tariff tariff)
    {
        ArgumentNullException.ThrowIfNull(tariff);
        return BilledSeconds(usedSeconds, tariff.FirstIncrementSeconds, tariff.NextIncrementSeconds);
    }

    /// <summary>
    /// The cumulative cost of a call billed for <paramref name="billedSeconds"/>: 0 when nothing
    /// is billed, otherwise fee + ceil(billed · rate / 60) micros.
    /// </summary>
    /// <param name="billedSeconds">0 to <see cref="MoneyLimits.MaxBilledSeconds"/>.</param>
    /// <param name="rateMicrosPerMinute">0 to <see cref="MoneyLimits.MaxRatePerMinuteMicros"/>.</param>
    /// <param name="connectionFeeMicros">0 to <see cref="MoneyLimits.MaxConnectionFeeMicros"/>.</param>
    public static long CostMicros(long billedSeconds, long rateMicrosPerMinute, long connectionFeeMicros)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(billedSeconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(billedSeconds, MoneyLimits.MaxBilledSeconds);
        ArgumentOutOfRangeException.ThrowIfNegative(rateMicrosPerMinute);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rateMicrosPerMinute, MoneyLimits.MaxRatePerMinuteMicros);
        ArgumentOutOfRangeException.ThrowIfNegative(connectionFeeMicros);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(connectionFeeMicros, MoneyLimits.MaxConnectionFeeMicros);

        if (billedSeconds == 0)
        {
            return 0;
        }

        var costMicros = checked(connectionFeeMicros
            + CeilingDivide(checked(billedSeconds * rateMicrosPerMinute), SecondsPerMinute));
        MoneyInvariant.Require(costMicros <= MoneyLimits.MaxCallCostMicros, "a call costs at most MaxCallCostMicros");
        return costMicros;
    }

    /// <summary>The cumulative cost of <paramref name="billedSeconds"/> under <paramref name="tariff"/>.</summary>
    public static long CostMicros(long billedSeconds, Tariff tariff)
    {
        ArgumentNullException.ThrowIfNull(tariff);
        return CostMicros(billedSeconds, tariff.RatePerMinuteMicros, tariff.ConnectionFeeMicros);
    }

    /// <summary>The cost of a call that used <paramref name="usedSeconds"/> in all: CostMicros(BilledSeconds(used)).</summary>
    public static long CallCostMicros(long usedSeconds, Tariff tariff) =>
        CostMicros(BilledSeconds(usedSeconds, tariff), tariff);

    /// <summary>
    /// The largest total billed time T on the increment grid, at most
    /// <see cref="MoneyLimits.MaxSessionSeconds"/>, with CostMicros(T) − already debited ≤ money.
    /// </summary>
    public static long AffordableTotalSeconds(long alreadyDebitedMicros, long moneyMicros, Tariff tariff) =>
        AffordableTotalSeconds(alreadyDebitedMicros, moneyMicros, tariff, MoneyLimits.MaxSessionSeconds);

    /// <summary>As the three-argument overload, with the total capped at <paramref name="capSeconds"/>.</summary>
    public static long AffordableTotalSeconds(long alreadyDebitedMicros, long moneyMicros, Tariff tariff, long capSeconds)
    {
        ArgumentNullException.ThrowIfNull(tariff);
        return AffordableTotalSeconds(
            alreadyDebitedMicros,
            moneyMicros,
            tariff.RatePerMinuteMicros,
            tariff.ConnectionFeeMicros,
            tariff.FirstIncrementSeconds,
            tariff.NextIncrementSeconds,
            capSeconds);
    }

    /// <summary>
    /// The largest total billed time T in {0, first, first + next, …} with T ≤ cap and
    /// CostMicros(T) − debited ≤ money; 0 when not even the first increment is affordable (or
    /// fits under the cap). A session that used U seconds and was debited D may be granted
    /// T − U more seconds, holding CostMicros(T) − D. Closed form: O(1), no loop over seconds.
    /// Same argument order as affordable_total_seconds in tariff.lua.
    /// </summary>
    /// <param name="alreadyDebitedMicros">0 to <see cref="MoneyLimits.MaxBalanceMicros"/>: what the call has been charged so far.</param>
    /// <param name="moneyMicros">0 to <see cref="MoneyLimits.MaxBalanceMicros"/>: what more may be spent.</param>
    /// <param name="rateMicrosPerMinute">0 to <see cref="MoneyLimits.MaxRatePerMinuteMicros"/>.</param>
    /// <param name="connectionFeeMicros">0 to <see cref="MoneyLimits.MaxConnectionFeeMicros"/>.</param>
    /// <param name="firstIncrementSeconds">1 to <see cref="MoneyLimits.MaxIncrementSeconds"/>.</param>
    /// <param name="nextIncrementSeconds">1 to <see cref="MoneyLimits.MaxIncrementSeconds"/>.</param>
    /// <param name="capSeconds">0 to <see cref="MoneyLimits.MaxSessionSeconds"/>: the answer when money is no limit.</param>
    public static long AffordableTotalSeconds(
        long alreadyDebitedMicros,
        long moneyMicros,
        long rateMicrosPerMinute,
        long connectionFeeMicros,
        long firstIncrementSeconds,
        long nextIncrementSeconds,
        long capSeconds)
    {
        RequireAffordabilityArguments(alreadyDebitedMicros, moneyMicros, rateMicrosPerMinute, connectionFeeMicros, capSeconds);
        RequireIncrement(firstIncrementSeconds, nameof(firstIncrementSeconds));
        RequireIncrement(nextIncrementSeconds, nameof(nextIncrementSeconds));

        var budgetMicros = checked(alreadyDebitedMicros + moneyMicros);
        var ceilingSeconds = AffordableCeilingSeconds(budgetMicros, rateMicrosPerMinute, connectionFeeMicros, capSeconds);
        if (ceilingSeconds < firstIncrementSeconds)
        {
            return 0;
        }

        var totalSeconds = firstIncrementSeconds
            + ((ceilingSeconds - firstIncrementSeconds) / nextIncrementSeconds * nextIncrementSeconds);
        MoneyInvariant.Require(
            totalSeconds <= capSeconds
            && CostMicros(totalSeconds, rateMicrosPerMinute, connectionFeeMicros) <= budgetMicros,
            "an affordable total is within the cap and its cost within debited plus money");
        return totalSeconds;
    }

    /// <summary>
    /// The largest T ≤ cap, on the grid or not, whose cost (fee + ceil(T · rate / 60)) fits
    /// the budget; 0 when the fee alone does not. Because the budget minus the fee is a whole
    /// number X, ceil(T · rate / 60) ≤ X exactly when T · rate ≤ 60 · X, so T = floor(60 · X / rate).
    /// </summary>
    private static long AffordableCeilingSeconds(long budgetMicros, long rateMicrosPerMinute, long connectionFeeMicros, long capSeconds)
    {
        if (budgetMicros < connectionFeeMicros)
        {
            return 0;
        }

        if (rateMicrosPerMinute == 0)
        {
            return capSeconds;
        }

        var spendableMicros = budgetMicros - connectionFeeMicros;
        return Math.Min(capSeconds, checked(SecondsPerMinute * spendableMicros) / rateMicrosPerMinute);
    }

    private static void RequireAffordabilityArguments(
        long alreadyDebitedMicros, long moneyMicros, long rateMicrosPerMinute, long connectionFeeMicros, long capSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(alreadyDebitedMicros);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(alreadyDebitedMicros, MoneyLimits.MaxBalanceMicros);
        ArgumentOutOfRangeException.ThrowIfNegative(moneyMicros);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(moneyMicros, MoneyLimits.MaxBalanceMicros);
        ArgumentOutOfRangeException.ThrowIfNegative(rateMicrosPerMinute);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rateMicrosPerMinute, MoneyLimits.MaxRatePerMinuteMicros);
        ArgumentOutOfRangeException.ThrowIfNegative(connectionFeeMicros);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(connectionFeeMicros, MoneyLimits.MaxConnectionFeeMicros);
        ArgumentOutOfRangeException.ThrowIfNegative(capSeconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capSeconds, MoneyLimits.MaxSessionSeconds);
    }

    private static void RequireIncrement(long incrementSeconds, string parameterName)
    {
        if (incrementSeconds < 1 || incrementSeconds > MoneyLimits.MaxIncrementSeconds)
        {
            throw new ArgumentOutOfRangeException(
                parameterName, incrementSeconds, "An increment is 1 to MoneyLimits.MaxIncrementSeconds (3600) seconds.");
        }
    }

    /// <summary>ceil(dividend / divisor) for dividend ≥ 0 and divisor ≥ 1, in integers.</summary>
    private static long CeilingDivide(long dividend, long divisor)
    {
        var quotient = dividend / divisor;
        return dividend % divisor == 0 ? quotient : quotient + 1;
    }
}
