namespace CommsCredits.Gateway.Metrics;

using System.Text;

/// <summary>
/// The metric families of a process and the collectors that refresh sampled values just before a scrape. Families
/// are created at start-up (at most <see cref="MetricLimits.MaxFamilies"/>); rendering walks them in creation order.
/// </summary>
public sealed class MetricsRegistry
{
    private readonly Lock gate = new();
    private readonly List<IMetricFamily> families = [];
    private readonly List<Action> collectors = [];

    public CounterFamily Counter(string name, string help, params string[] labelNames) => Add(new CounterFamily(name, help, labelNames));

    public GaugeFamily Gauge(string name, string help, params string[] labelNames) => Add(new GaugeFamily(name, help, labelNames));

    /// <summary>A counter whose value is copied in from a total kept elsewhere (by the runtime, say), by a collector.</summary>
    public GaugeFamily SampledCounter(string name, string help, params string[] labelNames) =>
        Add(new GaugeFamily(name, help, labelNames, MetricLimits.MaxLabelSets, sampledCounter: true));

    public HistogramFamily Histogram(string name, string help, IReadOnlyList<double> upperBounds, params string[] labelNames) =>
        Add(new HistogramFamily(name, help, labelNames, [.. upperBounds]));

    /// <summary>Runs before every render, to read values that are sampled rather than counted (process memory, say). Must be quick.</summary>
    public void AddCollector(Action collect)
    {
        lock (gate)
        {
            collectors.Add(collect);
        }
    }

    public TFamily Add<TFamily>(TFamily family)
        where TFamily : IMetricFamily
    {
        lock (gate)
        {
            if (families.Count >= MetricLimits.MaxFamilies)
            {
                throw new InvalidOperationException($"a registry holds at most {MetricLimits.MaxFamilies} metric families");
            }

            if (families.Exists(existing => string.Equals(existing.Name, family.Name, StringComparison.Ordinal)))
            {
                throw new InvalidOperationException($"metric {family.Name} is registered twice");
            }

            families.Add(family);
        }

        return family;
    }

    /// <summary>The whole exposition, in the text format 0.0.4.</summary>
    public string Render()
    {
        IMetricFamily[] snapshot;
        Action[] collecting;
        lock (gate)
        {
            snapshot = [.. families];
            collecting = [.. collectors];
        }

        foreach (var collect in collecting)
        {
            collect();
        }

        var output = new StringBuilder(16 * 1024);
        foreach (var family in snapshot)
        {
            family.Write(output);
        }

        return output.ToString();
    }
}
