namespace CommsCredits.Gateway.Metrics;

using System.Collections.Concurrent;
using System.Text;

/// <summary>
/// A named metric with its label names and one child per label set. The number of label sets is bounded by
/// <see cref="MaxLabelSets"/>: once a family has that many, a new set's observations go to a single overflow set
/// whose every label value is <see cref="OverflowLabelValue"/>, so a bug or an attacker cannot grow a scrape without
/// bound. Callers on a hot path look their child up once and keep it.
/// </summary>
public abstract class MetricFamily<TChild> : IMetricFamily
    where TChild : class
{
    /// <summary>The label value of the overflow set.</summary>
    public const string OverflowLabelValue = "overflow";

    private readonly ConcurrentDictionary<LabelValues, TChild> children = new();
    private readonly string[] labelNames;
    private TChild? overflow;
    private long overflowedLookups;

    protected MetricFamily(string name, string help, string[] labelNames, int maxLabelSets)
    {
        MetricNames.EnsureValidName(name);
        if (labelNames.Length > LabelValues.MaxLabels)
        {
            throw new ArgumentException($"metric {name} has {labelNames.Length} labels; at most {LabelValues.MaxLabels} are supported", nameof(labelNames));
        }

        foreach (var label in labelNames)
        {
            MetricNames.EnsureValidLabelName(label);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxLabelSets, 1);
        Name = name;
        Help = help;
        this.labelNames = labelNames;
        MaxLabelSets = maxLabelSets;
    }

    public string Name { get; }

    public string Help { get; }

    public IReadOnlyList<string> LabelNames => labelNames;

    /// <summary>How many label sets this family keeps apart; beyond, observations go to the overflow set.</summary>
    public int MaxLabelSets { get; }

    /// <summary>Lookups of a new label set that got the overflow set because the family was full (a set looked up twice counts twice).</summary>
    public long OverflowedLookups => Interlocked.Read(ref overflowedLookups);

    public abstract string TypeName { get; }

    /// <summary>The child of a label set: created on first use, the overflow child when the family is full.</summary>
    public TChild WithLabels(in LabelValues values)
    {
        if (children.TryGetValue(values, out var child))
        {
            return child;
        }

        return AddChild(values);
    }

    public TChild WithLabels(string value) => WithLabels(new LabelValues(value, null, null));

    public TChild WithLabels(string first, string second) => WithLabels(new LabelValues(first, second, null));

    public void Write(StringBuilder output)
    {
        PrometheusText.WriteHeader(output, Name, Help, TypeName);
        foreach (var (values, child) in children)
        {
            WriteChild(output, values, child);
        }
    }

    protected abstract TChild CreateChild();

    protected abstract void WriteChild(StringBuilder output, in LabelValues values, TChild child);

    /// <summary>Writes the label set in braces (nothing when the family has no labels), with one extra label if given.</summary>
    protected void WriteLabels(StringBuilder output, in LabelValues values, string? extraName = null, string? extraValue = null)
    {
        PrometheusText.WriteLabels(output, labelNames, values, extraName, extraValue);
    }

    private TChild AddChild(in LabelValues values)
    {
        for (var index = 0; index < LabelValues.MaxLabels; index++)
        {
            if (index < labelNames.Length ? values[index] is null : values[index] is not null)
            {
                throw new ArgumentException($"metric {Name} takes {labelNames.Length} label values ({string.Join(", ", labelNames)})", nameof(values));
            }
        }

        // The count may pass the limit by a few under a race; the bound stays within the number of threads.
        if (children.Count >= MaxLabelSets)
        {
            Interlocked.Increment(ref overflowedLookups);
            return overflow ?? Overflow();
        }

        return children.GetOrAdd(values, static (_, family) => family.CreateChild(), this);
    }

    private TChild Overflow()
    {
        var child = children.GetOrAdd(LabelValues.All(OverflowLabelValue, labelNames.Length), static (_, family) => family.CreateChild(), this);
        overflow = child;
        return child;
    }
}

/// <summary>What the registry needs of every family, whatever its type.</summary>
public interface IMetricFamily
{
    string Name { get; }

    void Write(StringBuilder output);
}
