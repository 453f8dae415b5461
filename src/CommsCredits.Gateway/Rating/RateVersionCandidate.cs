using CommsCredits.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace CommsCredits.Gateway.Rating;

/// <summary>
/// A rate version as received, before validation (from an ImportRates request, a file or a
/// database row). <see cref="RateRowValidator"/> checks it; <see cref="ToRateVersion"/> builds
/// the validated version. <see cref="EffectiveFrom"/> is null when the source had no valid time.
/// </summary>
public sealed record RateVersionCandidate(
    CallType CallType,
    string? Prefix,
    string? DestinationName,
    long RatePerMinuteMicros,
    long ConnectionFeeMicros,
    long FirstIncrementSeconds,
    long NextIncrementSeconds,
    DateTimeOffset? EffectiveFrom)
{
    // The range protobuf's Timestamp allows, 0001-01-01 to 9999-12-31 (timestamp.proto).
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;
    private const int MaxTimestampNanos = 999_999_999;

    /// <summary>The candidate carried by an ImportRates row; a missing or malformed effective_from becomes null.</summary>
    public static RateVersionCandidate FromContract(RateRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new RateVersionCandidate(
            row.CallType,
            row.Prefix,
            row.DestinationName,
            row.RatePerMinuteMicros,
            row.ConnectionFeeMicros,
            row.FirstIncrementSeconds,
            row.NextIncrementSeconds,
            ToUtcTime(row.EffectiveFrom));
    }

    /// <summary>The validated version; throws <see cref="InvalidOperationException"/> naming the first bad field.</summary>
    public RateVersion ToRateVersion()
    {
        if (RateRowValidator.ValidateRow(this) is { } error)
        {
            throw new InvalidOperationException("The rate version is not valid: " + error + ".");
        }

        var tariff = new Tariff(
            DestinationName!,
            Prefix!,
            RatePerMinuteMicros,
            ConnectionFeeMicros,
            FirstIncrementSeconds,
            NextIncrementSeconds,
            EffectiveFrom!.Value);
        return new RateVersion(CallType, tariff);
    }

    private static DateTimeOffset? ToUtcTime(Timestamp? timestamp)
    {
        var valid = timestamp is not null
            && timestamp.Seconds is >= MinTimestampSeconds and <= MaxTimestampSeconds
            && timestamp.Nanos is >= 0 and <= MaxTimestampNanos;
        return valid ? timestamp!.ToDateTimeOffset() : null;
    }
}
