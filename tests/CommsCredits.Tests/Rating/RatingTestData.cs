using CommsCredits.Gateway.Rating;

namespace CommsCredits.Tests.Rating;

/// <summary>Tariffs and times for the rating tests, with defaults for what a test does not care about.</summary>
internal static class RatingTestData
{
    public static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static Tariff Tariff(
        long rateMicrosPerMinute = 1_200_000,
        long connectionFeeMicros = 0,
        long first = 60,
        long next = 1,
        string prefix = "44",
        string destinationName = "United Kingdom",
        DateTimeOffset? effectiveFrom = null) =>
        new(destinationName, prefix, rateMicrosPerMinute, connectionFeeMicros, first, next, effectiveFrom ?? Epoch);
}
