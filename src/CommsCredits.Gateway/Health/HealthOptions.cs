namespace CommsCredits.Gateway.Health;

using System.ComponentModel.DataAnnotations;

/// <summary>How the gateway finds out whether it can serve (docs/operations.md, "Health").</summary>
public sealed class HealthOptions
{
    public const string SectionName = "Health";

    /// <summary>How often Redis and PostgreSQL are probed.</summary>
    [Range(100, 60_000)]
    public int ProbeIntervalMs { get; set; } = 1_000;

    /// <summary>How long a probe may take before its server counts as unreachable.</summary>
    [Range(50, 30_000)]
    public int ProbeTimeoutMs { get; set; } = 1_000;

    /// <summary>
    /// How many probes of a server must fail in a row before it counts as unreachable: one slow answer on a busy machine
    /// (a probe waiting for a pooled connection) must not take the gateway out of its balancer. One success is enough
    /// to count it reachable again.
    /// </summary>
    [Range(1, 100)]
    public int FailedProbesBeforeUnreachable { get; set; } = 3;

    /// <summary>The most Watch streams open at once; one more is refused with RESOURCE_EXHAUSTED.</summary>
    [Range(1, 10_000)]
    public int MaxWatchers { get; set; } = 100;
}
