namespace CommsCredits.Gateway.Reports;

using System.ComponentModel.DataAnnotations;

/// <summary>Limits of the Reports service. Section "Reports".</summary>
public sealed class ReportsOptions
{
    public const string SectionName = "Reports";

    /// <summary>Rows one query of an export reads; an export is a sequence of such keyset-paged queries.</summary>
    [Range(1, 100_000)]
    public int PageSize { get; set; } = 1_000;

    /// <summary>The longest period an export may cover, in days.</summary>
    [Range(1, 3_660)]
    public int MaxPeriodDays { get; set; } = 366;

    /// <summary>Exports (usage and statements together) running at once on this gateway; beyond it RESOURCE_EXHAUSTED.</summary>
    [Range(1, 1_000)]
    public int MaxConcurrentExports { get; set; } = 4;
}
