namespace CommsCredits.Gateway.Metrics;

/// <summary>The bounds of the metrics code.</summary>
public static class MetricLimits
{
    /// <summary>
    /// Label sets one metric keeps apart. Beyond, new sets are counted in one overflow set (every label "overflow").
    /// Our label values come from fixed lists (methods, codes, reasons), so reaching it means a bug.
    /// </summary>
    public const int MaxLabelSets = 1_000;

    /// <summary>Bucket bounds of one histogram.</summary>
    public const int MaxBuckets = 64;

    /// <summary>Metric families in one registry.</summary>
    public const int MaxFamilies = 256;

    /// <summary>The latency buckets of every duration histogram, in seconds: 100 µs to 10 s.</summary>
    public static IReadOnlyList<double> LatencyBucketsSeconds { get; } =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
}
