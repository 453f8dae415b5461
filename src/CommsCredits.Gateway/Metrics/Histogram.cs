namespace CommsCredits.Gateway.Metrics;

using System.Diagnostics;
using System.Text;

/// <summary>
/// One label set of a histogram. Each observation increments one bucket (found by binary search over at most a few
/// dozen bounds), the count and the sum, all lock-free; the exposition makes the buckets cumulative and writes the +Inf bucket as the count. A scrape that
/// runs during observations may see a sum that includes an observation the buckets do not yet, or the other way round.
/// </summary>
public sealed class Histogram
{
    private readonly double[] upperBounds;
    private readonly long[] bucketCounts;
    private long count;
    private double sum;

    internal Histogram(double[] upperBounds)
    {
        this.upperBounds = upperBounds;
        bucketCounts = new long[upperBounds.Length + 1];
    }

    public void Observe(double value)
    {
        var index = Array.BinarySearch(upperBounds, value);
        // An exact bound is in its own bucket (le is "less than or equal"); otherwise the first bound above the value.
        index = index >= 0 ? index : ~index;
        Interlocked.Increment(ref bucketCounts[index]);
        AtomicDouble.Add(ref sum, value);
        Interlocked.Increment(ref count);
    }

    /// <summary>Observes the seconds elapsed since a <see cref="Stopwatch.GetTimestamp"/>.</summary>
    public void ObserveSince(long startedTimestamp) => Observe(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds);

    public long Count => Interlocked.Read(ref count);

    public double Sum => Volatile.Read(ref sum);

    internal void Write(StringBuilder output, HistogramFamily family, in LabelValues values)
    {
        long cumulative = 0;
        for (var index = 0; index < bucketCounts.Length; index++)
        {
            cumulative += Interlocked.Read(ref bucketCounts[index]);
            output.Append(family.Name).Append("_bucket");
            family.WriteBucketLabels(output, values, family.BoundTexts[index]);
            PrometheusText.WriteValue(output, cumulative);
        }

        // The count is the +Inf bucket, as the format requires; the sum may be a few observations apart during a scrape.
        var total = cumulative;
        output.Append(family.Name).Append("_sum");
        family.WriteBucketLabels(output, values, null);
        PrometheusText.WriteValue(output, Sum);
        output.Append(family.Name).Append("_count");
        family.WriteBucketLabels(output, values, null);
        PrometheusText.WriteValue(output, total);
    }
}

/// <summary>A histogram family: HELP, TYPE histogram, and per label set its cumulative buckets (+Inf last), sum and count.</summary>
public sealed class HistogramFamily : MetricFamily<Histogram>
{
    private readonly double[] upperBounds;

    public HistogramFamily(string name, string help, string[] labelNames, double[] upperBounds, int maxLabelSets = MetricLimits.MaxLabelSets)
        : base(name, help, labelNames, maxLabelSets)
    {
        if (labelNames.Contains("le", StringComparer.Ordinal))
        {
            throw new ArgumentException($"histogram {name} may not have a label named le", nameof(labelNames));
        }

        if (upperBounds.Length == 0 || upperBounds.Length > MetricLimits.MaxBuckets)
        {
            throw new ArgumentException($"histogram {name} needs 1 to {MetricLimits.MaxBuckets} bucket bounds", nameof(upperBounds));
        }

        for (var index = 0; index < upperBounds.Length; index++)
        {
            if (!double.IsFinite(upperBounds[index]) || index > 0 && upperBounds[index] <= upperBounds[index - 1])
            {
                throw new ArgumentException($"histogram {name}: bucket bounds must be finite and increasing", nameof(upperBounds));
            }
        }

        this.upperBounds = [.. upperBounds];
        BoundTexts = [.. upperBounds.Select(PrometheusText.FormatValue), "+Inf"];
    }

    public override string TypeName => "histogram";

    /// <summary>The le values, "+Inf" last.</summary>
    internal string[] BoundTexts { get; }

    protected override Histogram CreateChild() => new(upperBounds);

    protected override void WriteChild(StringBuilder output, in LabelValues values, Histogram child) => child.Write(output, this, values);

    internal void WriteBucketLabels(StringBuilder output, in LabelValues values, string? le) =>
        WriteLabels(output, values, le is null ? null : "le", le);
}
