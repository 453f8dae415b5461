namespace CommsCredits.Tests.Fuzzing;

using System.Globalization;

/// <summary>
/// How much to fuzz and from which seed. The suite runs a bounded default; FUZZ_ITERATIONS raises the count per
/// method and payload kind for a longer run, FUZZ_SEED replays a run (every failure message prints both).
/// </summary>
public static class FuzzSettings
{
    /// <summary>Requests per method and payload kind in the suite: about 3,000 payload requests in all.</summary>
    public const int DefaultIterations = 30;

    /// <summary>The upper bound FUZZ_ITERATIONS accepts, so a typo cannot start a run of days.</summary>
    public const int MaxIterations = 1_000_000;

    /// <summary>The seed of every run that does not set FUZZ_SEED, so the suite is deterministic.</summary>
    public const int DefaultSeed = 20261202;

    public static int Iterations { get; } = Read("FUZZ_ITERATIONS", DefaultIterations, 1, MaxIterations);

    public static int Seed { get; } = Read("FUZZ_SEED", DefaultSeed, int.MinValue, int.MaxValue);

    /// <summary>What to set to replay this run.</summary>
    public static string Replay => $"FUZZ_SEED={Seed.ToString(CultureInfo.InvariantCulture)} FUZZ_ITERATIONS={Iterations.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The generator of one case: depends only on the seed, a stream name and the case number, not on timing.</summary>
    public static Random ForCase(string stream, int caseNumber)
    {
        var hash = 17;
        foreach (var character in stream)
        {
            hash = unchecked((hash * 31) + character);
        }

        return new Random(unchecked((Seed * 1_000_003) + (hash * 7919) + caseNumber));
    }

    private static int Read(string name, int fallback, int minimum, int maximum)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < minimum || value > maximum)
        {
            throw new InvalidOperationException($"{name} must be an integer between {minimum} and {maximum} (got '{text}')");
        }

        return value;
    }
}
