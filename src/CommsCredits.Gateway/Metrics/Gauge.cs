namespace CommsCredits.Gateway.Metrics;

using System.Text;

/// <summary>One label set of a gauge: a value that goes up and down. Lock-free.</summary>
public sealed class Gauge
{
    private double value;

    public void Set(double newValue) => Volatile.Write(ref value, newValue);

    public void Add(double amount) => AtomicDouble.Add(ref value, amount);

    public double Value => Volatile.Read(ref value);
}

/// <summary>
/// A gauge family: HELP, TYPE gauge, and one sample per label set. A sampled counter (a total that the process or
/// runtime keeps, copied in at scrape time) is the same thing exposed with TYPE counter.
/// </summary>
public sealed class GaugeFamily(string name, string help, string[] labelNames, int maxLabelSets = MetricLimits.MaxLabelSets, bool sampledCounter = false)
    : MetricFamily<Gauge>(name, help, labelNames, maxLabelSets)
{
    public override string TypeName => sampledCounter ? "counter" : "gauge";

    protected override Gauge CreateChild() => new();

    protected override void WriteChild(StringBuilder output, in LabelValues values, Gauge child)
    {
        output.Append(Name);
        WriteLabels(output, values);
        PrometheusText.WriteValue(output, child.Value);
    }
}

/// <summary>Lock-free addition on a double (compare-and-swap of its bits).</summary>
internal static class AtomicDouble
{
    public static void Add(ref double target, double amount)
    {
        var current = Volatile.Read(ref target);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref target, current + amount, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }
}
