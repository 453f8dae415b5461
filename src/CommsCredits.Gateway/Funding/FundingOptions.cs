namespace CommsCredits.Gateway.Funding;

using System.ComponentModel.DataAnnotations;

/// <summary>Funding lots and their expiry. Section "Funding".</summary>
public sealed class FundingOptions
{
    public const string SectionName = "Funding";

    /// <summary>The smallest one-off funding, in micro-units of the tenant's currency: 50 of it, as the product says.</summary>
    [Range(1, 1_000_000_000_000)]
    public long MinimumOneOffMicros { get; set; } = 50_000_000;

    /// <summary>
    /// The most lots with money left that one tenant may hold; a funding beyond it is refused. It bounds the work of
    /// every debit script (which walks the lots earliest-expiry first) and of a rebuild.
    /// </summary>
    [Range(1, 5_000)]
    public int MaxOpenLotsPerTenant { get; set; } = 1_000;

    /// <summary>How often the expiry job looks for expired lots with money left.</summary>
    [Range(1, 86_400)]
    public int ExpiryIntervalSeconds { get; set; } = 60;

    /// <summary>
    /// How far back the expiry job looks for lots that expired. A lot's money is forfeited at the first run after its
    /// expiry, except what holds granted before then still need; holds live at most a week, so 35 days leaves room for
    /// a job that was stopped for weeks.
    /// </summary>
    [Range(1, 3_650)]
    public int ExpiryLookbackDays { get; set; } = 35;

    /// <summary>The most tenants one expiry run handles; the next run takes the rest.</summary>
    [Range(1, 100_000)]
    public int ExpiryTenantsPerRun { get; set; } = 1_000;
}
