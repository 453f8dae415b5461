namespace CommsCredits.Gateway.Metrics;

using System.Text;

/// <summary>One label set of a counter: a total that only goes up. Increments are lock-free.</summary>
public sealed class Counter
{
    private long count;
    private double fraction;

    /// <summary>Adds one.</summary>
    public void Increment() => Interlocked.Increment(ref count);

    /// <summary>Adds a whole number of events.</summary>
    public void Add(long events)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(events);
        Interlocked.Add(ref count, events);
    }

    /// <summary>Adds a non-negative amount that need not be whole (seconds, say).</summary>
    public void Add(double amount)
    {
        if (!(amount >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(amount), amount, "a counter only goes up");
        }

        AtomicDouble.Add(ref fraction, amount);
    }

    public double Value => Interlocked.Read(ref count) + Volatile.Read(ref fraction);
}

/// <summary>A counter family: HELP, TYPE counter, and one sample per label set.</summary>
public sealed class CounterFamily(string name, string help, string[] labelNames, int maxLabelSets = MetricLimits.MaxLabelSets)
    : MetricFamily<Counter>(name, help, labelNames, maxLabelSets)
{
    public override string TypeName => "counter";

    protected override Counter CreateChild() => new();

    protected override void WriteChild(StringBuilder output, in LabelValues values, Counter child)
    {
        output.Append(Name);
        WriteLabels(output, values);
        PrometheusText.WriteValue(output, child.Value);
    }
}
