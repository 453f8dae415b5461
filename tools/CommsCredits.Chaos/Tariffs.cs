namespace CommsCredits.Chaos;

using CommsCredits.Contracts.V1;

/// <summary>
/// The rate table every chaos tenant gets, and the cost of a call under it computed here independently of the gateway
/// (docs/rating.md: billed time on the increment grid, fee plus the per-minute rate rounded up once), so that a charge
/// above what the reported usage costs is caught.
/// </summary>
public sealed record Tariff(string Prefix, string CalledNumber, long RatePerMinuteMicros, long ConnectionFeeMicros, uint FirstIncrementSeconds, uint NextIncrementSeconds)
{
    public static IReadOnlyList<Tariff> All { get; } =
    [
        new("44", "+442079460000", 120_000, 50_000, 60, 1),
        new("1", "+14155550123", 30_000, 0, 1, 1),
        new("33", "+33140000000", 90_000, 20_000, 60, 60),
    ];

    /// <summary>What a call of <paramref name="usedSeconds"/> in all costs: cost(billed(used)).</summary>
    public long CostMicros(long usedSeconds)
    {
        if (usedSeconds <= 0)
        {
            return 0;
        }

        var billed = FirstIncrementSeconds + (((Math.Max(0, usedSeconds - FirstIncrementSeconds) + NextIncrementSeconds - 1) / NextIncrementSeconds) * NextIncrementSeconds);
        return ConnectionFeeMicros + (((billed * RatePerMinuteMicros) + 59) / 60);
    }

    public RateRow ToRow() => new()
    {
        CallType = CallType.OutboundPstn,
        Prefix = Prefix,
        DestinationName = "Chaos " + Prefix,
        RatePerMinuteMicros = RatePerMinuteMicros,
        ConnectionFeeMicros = ConnectionFeeMicros,
        FirstIncrementSeconds = FirstIncrementSeconds,
        NextIncrementSeconds = NextIncrementSeconds,
        EffectiveFrom = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)),
    };
}
