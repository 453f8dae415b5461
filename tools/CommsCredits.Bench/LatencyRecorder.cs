namespace CommsCredits.Bench;

using System.Diagnostics;

/// <summary>
/// Every latency of one method in one phase, in Stopwatch ticks, appended lock-free into 64K-entry chunks (a chunk
/// is allocated under a lock once per 65,536 requests). Read only after the phase's requests have all finished.
/// </summary>
public sealed class LatencyRecorder
{
    private const int ChunkBits = 16;
    private const int ChunkSize = 1 << ChunkBits;

    /// <summary>The most latencies one recorder keeps (268 million); more are counted but not kept.</summary>
    private const int MaxChunks = 4_096;

    private readonly long[]?[] chunks = new long[MaxChunks][];
    /// <summary>The most distinct failure reasons kept for the report.</summary>
    private const int MaxReasons = 5;

    private readonly Lock growing = new();
    private readonly List<string> reasons = [];
    private long count;
    private long failures;

    public LatencyRecorder(string method) => Method = method;

    public string Method { get; }

    public long Count => Interlocked.Read(ref count);

    /// <summary>Requests that ended with a gRPC error or an answer other than the one expected.</summary>
    public long Failures => Interlocked.Read(ref failures);

    public void Record(long elapsedTicks)
    {
        var index = Interlocked.Increment(ref count) - 1;
        var chunk = index >> ChunkBits;
        if (chunk >= MaxChunks)
        {
            return;
        }

        var entries = Volatile.Read(ref chunks[chunk]);
        if (entries is null)
        {
            lock (growing)
            {
                entries = chunks[chunk] ??= new long[ChunkSize];
            }
        }

        entries[index & (ChunkSize - 1)] = elapsedTicks;
    }

    /// <summary>The first few distinct reasons of the failures, for the report.</summary>
    public IReadOnlyList<string> FailureReasons
    {
        get
        {
            lock (reasons)
            {
                return [.. reasons];
            }
        }
    }

    public void Fail(string reason)
    {
        Interlocked.Increment(ref failures);
        lock (reasons)
        {
            if (reasons.Count < MaxReasons && !reasons.Contains(reason, StringComparer.Ordinal))
            {
                reasons.Add(reason);
            }
        }
    }

    /// <summary>The latencies recorded, sorted, in milliseconds.</summary>
    public double[] SortedMilliseconds()
    {
        var kept = (int)Math.Min(Count, (long)MaxChunks * ChunkSize);
        var values = new double[kept];
        for (var index = 0; index < kept; index++)
        {
            values[index] = chunks[index >> ChunkBits]![index & (ChunkSize - 1)] * 1000.0 / Stopwatch.Frequency;
        }

        Array.Sort(values);
        return values;
    }

    /// <summary>The nearest-rank percentile of sorted values (0 when there are none).</summary>
    public static double Percentile(double[] sorted, double percentile)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
