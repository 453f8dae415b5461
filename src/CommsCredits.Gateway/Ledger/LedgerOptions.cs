namespace CommsCredits.Gateway.Ledger;

using System.ComponentModel.DataAnnotations;

/// <summary>The monthly partitions of ledger_entries and call_records (docs/scaling.md, "Partitioned tables"). Section "Ledger".</summary>
public sealed class LedgerOptions
{
    public const string SectionName = "Ledger";

    /// <summary>
    /// Months after the current one (UTC) whose partitions are kept created ahead, so that rows never wait for a partition.
    /// A row beyond them (a clock far ahead, the maintenance stopped) still creates its month when it is written.
    /// </summary>
    [Range(1, 36)]
    public int PartitionMonthsAhead { get; set; } = 3;

    /// <summary>How often each gateway (and worker) creates the months ahead; at start-up it does so at once.</summary>
    [Range(1, 1_440)]
    public int PartitionMaintenanceIntervalMinutes { get; set; } = 60;
}
