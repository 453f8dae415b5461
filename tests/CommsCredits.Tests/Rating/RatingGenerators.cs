using CommsCredits.Gateway.Money;
using FsCheck;
using FsCheck.Fluent;

namespace CommsCredits.Tests.Rating;

/// <summary>The numbers of one tariff, as the property tests draw them.</summary>
internal sealed record TariffNumbers(long RateMicrosPerMinute, long ConnectionFeeMicros, long FirstIncrementSeconds, long NextIncrementSeconds)
{
    public override string ToString() =>
        $"rate {RateMicrosPerMinute}, fee {ConnectionFeeMicros}, {FirstIncrementSeconds}/{NextIncrementSeconds}";
}

/// <summary>
/// Generators that favour the values where rounding bugs live: the range ends, small numbers,
/// every order of magnitude, and the usual increments.
/// </summary>
internal static class RatingGenerators
{
    private static readonly long[] UsualIncrementsSeconds = [1, 6, 30, 60, 3_600];

    /// <summary>A long from <paramref name="minimum"/> to <paramref name="maximum"/>, biased to edges and magnitudes.</summary>
    public static Gen<long> Long(long minimum, long maximum) => Gen.Frequency(
        (1, Gen.Constant(minimum)),
        (1, Gen.Constant(maximum)),
        (2, Uniform(0, Math.Min(100, maximum - minimum)).Select(offset => minimum + offset)),
        (2, Uniform(0, Math.Min(100, maximum - minimum)).Select(offset => maximum - offset)),
        (4, LogUniform(maximum - minimum).Select(offset => minimum + offset)),
        (4, Uniform(minimum, maximum)));

    public static Gen<long> Increment() => Gen.Frequency(
        (1, Gen.Elements(UsualIncrementsSeconds)),
        (1, Long(1, MoneyLimits.MaxIncrementSeconds)));

    public static Gen<TariffNumbers> Tariff() =>
        from rate in Long(0, MoneyLimits.MaxRatePerMinuteMicros)
        from fee in Long(0, MoneyLimits.MaxConnectionFeeMicros)
        from first in Increment()
        from next in Increment()
        select new TariffNumbers(rate, fee, first, next);

    /// <summary>Uniform over [minimum, maximum], for ranges wider than an int.</summary>
    public static Gen<long> Uniform(long minimum, long maximum)
    {
        var width = maximum - minimum;
        if (width < int.MaxValue)
        {
            return Gen.Choose(0, (int)width).Select(offset => minimum + offset);
        }

        return from high in Gen.Choose(0, (int)Math.Min(int.MaxValue - 1, width >> 30))
               from low in Gen.Choose(0, (1 << 30) - 1)
               select minimum + Math.Min(width, ((long)high << 30) | (long)low);
    }

    // An offset from 0 to width whose number of digits is uniform, so small and large values are both common.
    private static Gen<long> LogUniform(long width)
    {
        var digits = width.ToString(System.Globalization.CultureInfo.InvariantCulture).Length;
        return from exponent in Gen.Choose(0, digits)
               from offset in Uniform(0, Math.Min(width, Pow10(exponent)))
               select offset;
    }

    private static long Pow10(int exponent)
    {
        long value = 1;
        for (var step = 0; step < exponent && value <= long.MaxValue / 10; step++)
        {
            value *= 10;
        }

        return value;
    }
}
