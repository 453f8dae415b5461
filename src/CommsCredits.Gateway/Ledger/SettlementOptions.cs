namespace CommsCredits.Gateway.Ledger;

using System.ComponentModel.DataAnnotations;

/// <summary>Group commit of settlements to the ledger. Section "Settlement".</summary>
public sealed class SettlementOptions
{
    public const string SectionName = "Settlement";

    /// <summary>Most settlements written in one PostgreSQL transaction.</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>
    /// How long a writer waits for more settlements after the first one of a batch. 0 takes what is queued at once:
    /// settlements that arrive while a commit is in flight form the next batch, which is group commit without delay.
    /// </summary>
    [Range(0, 100)]
    public int MaxBatchWaitMs { get; set; }

    /// <summary>Settlements waiting for a writer; when full, new ones fail at once with UNAVAILABLE.</summary>
    [Range(1, 1_000_000)]
    public int MaxQueueLength { get; set; } = 20_000;

    /// <summary>Batches in flight at once (each on its own connection).</summary>
    [Range(1, 16)]
    public int WriterCount { get; set; } = 2;

    /// <summary>Attempts at one batch when PostgreSQL reports a transient failure, before its requests fail.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Time allowed to one attempt at a batch, commit included.</summary>
    [Range(100, 120_000)]
    public int CommitTimeoutMs { get; set; } = 5_000;

    /// <summary>
    /// How long the ledger may fail (batches failing, none committing) before new calls (Reserve) are refused with
    /// UNAVAILABLE. Until then Reserve works from Redis alone; calls in progress are never cut by it.
    /// </summary>
    [Range(1, 86_400)]
    public int MaxLedgerOutageSeconds { get; set; } = 60;

    /// <summary>How often the sweeper looks for settlements left pending in Redis (a crash between Redis and the ledger).</summary>
    [Range(1, 3_600)]
    public int SweepIntervalSeconds { get; set; } = 10;

    /// <summary>A pending settlement younger than this is left to the request that made it.</summary>
    [Range(1, 3_600)]
    public int SweepMinimumAgeSeconds { get; set; } = 30;

    /// <summary>Most pending settlements one sweep reads from Redis, young ones included; the old ones among them go to the writers.</summary>
    [Range(1, 1_000_000)]
    public int MaxSweepSettlements { get; set; } = 5_000;
}
