using CommsCredits.Gateway.Rating.Internal;

namespace CommsCredits.Gateway.Rating;

/// <summary>
/// One version of one prefix of a rate table: what a billed minute costs, the connection fee,
/// the billing increments ("60/1": the first 60 seconds, then each further second) and when
/// the version comes into force. Immutable; the constructor rejects values outside the limits
/// of <see cref="Money.MoneyLimits"/>, so every tariff can be charged exactly.
/// </summary>
public sealed class Tariff
{
    public Tariff(
        string destinationName,
        string prefix,
        long ratePerMinuteMicros,
        long connectionFeeMicros,
        long firstIncrementSeconds,
        long nextIncrementSeconds,
        DateTimeOffset effectiveFrom)
    {
        TariffRules.ThrowIfBroken(TariffRules.DestinationNameError(destinationName), "destination_name", nameof(destinationName));
        TariffRules.ThrowIfBroken(TariffRules.PrefixError(prefix), "prefix", nameof(prefix));
        TariffRules.ThrowIfBroken(TariffRules.RatePerMinuteError(ratePerMinuteMicros), "rate_per_minute_micros", nameof(ratePerMinuteMicros));
        TariffRules.ThrowIfBroken(TariffRules.ConnectionFeeError(connectionFeeMicros), "connection_fee_micros", nameof(connectionFeeMicros));
        TariffRules.ThrowIfBroken(TariffRules.IncrementError(firstIncrementSeconds), "first_increment_seconds", nameof(firstIncrementSeconds));
        TariffRules.ThrowIfBroken(TariffRules.IncrementError(nextIncrementSeconds), "next_increment_seconds", nameof(nextIncrementSeconds));
        TariffRules.ThrowIfBroken(TariffRules.EffectiveFromError(effectiveFrom), "effective_from", nameof(effectiveFrom));

        DestinationName = destinationName;
        Prefix = prefix;
        RatePerMinuteMicros = ratePerMinuteMicros;
        ConnectionFeeMicros = connectionFeeMicros;
        FirstIncrementSeconds = firstIncrementSeconds;
        NextIncrementSeconds = nextIncrementSeconds;
        EffectiveFrom = effectiveFrom;
    }

    /// <summary>The rate table's name for the destination ("United Kingdom - Mobile").</summary>
    public string DestinationName { get; }

    /// <summary>1 to 15 digits, no '+', first digit 1 to 9.</summary>
    public string Prefix { get; }

    /// <summary>Price of one billed minute, 0 to <see cref="Money.MoneyLimits.MaxRatePerMinuteMicros"/>.</summary>
    public long RatePerMinuteMicros { get; }

    /// <summary>Charged once per call as soon as any second is used.</summary>
    public long ConnectionFeeMicros { get; }

    /// <summary>The first billed increment, 1 to 3,600 seconds (60 in "60/1").</summary>
    public long FirstIncrementSeconds { get; }

    /// <summary>Every further increment, 1 to 3,600 seconds (1 in "60/1").</summary>
    public long NextIncrementSeconds { get; }

    /// <summary>When this version comes into force, in UTC (offset zero).</summary>
    public DateTimeOffset EffectiveFrom { get; }
}
