namespace CommsCredits.Gateway.Money;

/// <summary>
/// The upper bounds of every money and time quantity the gateway accepts.
/// </summary>
/// <remarks>
/// Charges are computed twice: in C# (64-bit integers) and inside Redis by Lua scripts, whose
/// numbers are IEEE 754 doubles that hold integers exactly only below 2^53. These limits are
/// chosen so that every intermediate value of the tariff arithmetic stays below 2^53 (the
/// argument is written out in docs/rating.md), which makes the two implementations agree to
/// the micro-unit. Raising any of them means redoing that argument.
/// </remarks>
public static class MoneyLimits
{
    /// <summary>Micro-units in one major unit of a currency (1 EUR = 1,000,000 micros).</summary>
    public const long MicrosPerUnit = 1_000_000;

    /// <summary>2^53: the first integer above which a double (a Redis Lua number) is no longer exact.</summary>
    public const long LuaExactIntegerLimit = 9_007_199_254_740_992;

    /// <summary>
    /// A balance, a funding, a hold or any other single amount is at most 10^15 micros
    /// (one billion currency units). Eight such amounts still add up to less than 2^53, so a
    /// script may sum a balance, its holds and a debit without leaving exact arithmetic.
    /// </summary>
    public const long MaxBalanceMicros = 1_000_000_000_000_000;

    /// <summary>
    /// A minute costs at most 1,000 currency units: far above any real telephone tariff, and
    /// small enough that the longest billed call times this rate is below 2^53 (about 6.1 × 10^14).
    /// </summary>
    public const long MaxRatePerMinuteMicros = 1_000_000_000;

    /// <summary>A connection fee is at most 1,000 currency units, for the same reason as the rate.</summary>
    public const long MaxConnectionFeeMicros = 1_000_000_000;

    /// <summary>
    /// A billing increment is at most one hour: longer increments are not telephony tariffs,
    /// and the bound keeps billed time within one increment of used time.
    /// </summary>
    public const long MaxIncrementSeconds = 3_600;

    /// <summary>
    /// A call is charged for at most 7 days of used time; the gateway never grants beyond it.
    /// It bounds billed time, and so the cost of one call, however long an SBC keeps a session.
    /// </summary>
    public const long MaxSessionSeconds = 7 * 24 * 3_600;

    /// <summary>One request reports or asks for at most one day of seconds (the API's limit).</summary>
    public const long MaxSecondsPerRequest = 86_400;

    /// <summary>
    /// The most billed seconds any call can reach: used time is at most
    /// <see cref="MaxSessionSeconds"/>, and rounding up to the increment grid adds less than
    /// one increment.
    /// </summary>
    public const long MaxBilledSeconds = MaxSessionSeconds + MaxIncrementSeconds;

    /// <summary>
    /// The most one call can cost: the connection fee plus the largest billed time at the
    /// largest rate, rounded up (10,141,000,000,000 micros, far below 2^53 and below
    /// <see cref="MaxBalanceMicros"/>).
    /// </summary>
    public const long MaxCallCostMicros =
        MaxConnectionFeeMicros + ((MaxBilledSeconds * MaxRatePerMinuteMicros) + 59) / 60;
}
