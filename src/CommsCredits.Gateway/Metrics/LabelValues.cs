namespace CommsCredits.Gateway.Metrics;

/// <summary>
/// The values of a metric's labels (at most <see cref="MaxLabels"/>), in the order of its label names: the key of a
/// label set. A struct, so that looking a child up allocates nothing.
/// </summary>
public readonly record struct LabelValues(string? First, string? Second, string? Third)
{
    public const int MaxLabels = 3;

    public static LabelValues None => default;

    public string? this[int index] => index switch
    {
        0 => First,
        1 => Second,
        2 => Third,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>The same value for every one of <paramref name="count"/> labels: the overflow set.</summary>
    public static LabelValues All(string value, int count) =>
        new(count > 0 ? value : null, count > 1 ? value : null, count > 2 ? value : null);
}
