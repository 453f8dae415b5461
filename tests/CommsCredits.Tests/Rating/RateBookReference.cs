using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;

namespace CommsCredits.Tests.Rating;

/// <summary>
/// The rating rule read literally, as a slow linear scan, and random tables that overlap a
/// lot (few distinct digits, few distinct moments) to compare the rate book against.
/// </summary>
internal static class RateBookReference
{
    private static readonly CallType[] CallTypes = [CallType.OutboundPstn, CallType.ConferenceDialOut, CallType.TollFreeInbound];

    public static Tariff? Find(IReadOnlyList<RateVersion> versions, CallType callType, string number, DateTimeOffset at)
    {
        var digits = number[1..];
        Tariff? best = null;
        foreach (var version in versions)
        {
            var tariff = version.Tariff;
            if (version.CallType != callType || !digits.StartsWith(tariff.Prefix, StringComparison.Ordinal) || tariff.EffectiveFrom > at)
            {
                continue;
            }

            var longer = best is null || tariff.Prefix.Length > best.Prefix.Length;
            var laterOfSamePrefix = best is not null && tariff.Prefix.Length == best.Prefix.Length && tariff.EffectiveFrom > best.EffectiveFrom;
            if (longer || laterOfSamePrefix)
            {
                best = tariff;
            }
        }

        return best;
    }

    public static List<RateVersion> RandomVersions(Random random, int count)
    {
        var seen = new HashSet<(CallType, string, DateTimeOffset)>();
        var versions = new List<RateVersion>(count);
        while (versions.Count < count)
        {
            var callType = CallTypes[random.Next(CallTypes.Length)];
            var prefix = RandomDigits(random, random.Next(1, 8));
            var effectiveFrom = RandomMoment(random);
            if (seen.Add((callType, prefix, effectiveFrom)))
            {
                var tariff = RatingTestData.Tariff(
                    rateMicrosPerMinute: random.Next(0, 5_000_000),
                    prefix: prefix,
                    destinationName: "Destination " + versions.Count.ToString(CultureInfo.InvariantCulture),
                    effectiveFrom: effectiveFrom);
                versions.Add(new RateVersion(callType, tariff));
            }
        }

        return versions;
    }

    public static (CallType CallType, string Number, DateTimeOffset At) RandomQuery(Random random) =>
        (CallTypes[random.Next(CallTypes.Length)], "+" + RandomDigits(random, random.Next(1, 16)), RandomMoment(random));

    // Digits 1 to 3 only, so that prefixes nest and collide often.
    private static string RandomDigits(Random random, int length) =>
        string.Create(length, random, static (characters, state) =>
        {
            for (var index = 0; index < characters.Length; index++)
            {
                characters[index] = (char)('1' + state.Next(3));
            }
        });

    private static DateTimeOffset RandomMoment(Random random) =>
        RatingTestData.Epoch.AddDays(random.Next(0, 10));
}
