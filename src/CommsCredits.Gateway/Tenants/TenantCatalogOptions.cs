namespace CommsCredits.Gateway.Tenants;

using System.ComponentModel.DataAnnotations;

/// <summary>The in-memory tenant catalog. Section "Catalog".</summary>
public sealed class TenantCatalogOptions
{
    public const string SectionName = "Catalog";

    /// <summary>
    /// How often a gateway compares its cached rates revisions with PostgreSQL, in case it missed a change
    /// notification (its listening connection was down).
    /// </summary>
    [Range(1, 3_600)]
    public int RefreshIntervalSeconds { get; set; } = 30;

    /// <summary>How long an unknown tenant id is remembered as unknown, so a flood of them does not reach PostgreSQL.</summary>
    [Range(0, 3_600)]
    public int UnknownTenantCacheSeconds { get; set; } = 5;

    /// <summary>Most unknown tenant ids remembered; past it the memory is cleared.</summary>
    [Range(1, 10_000_000)]
    public int MaxUnknownTenants { get; set; } = 100_000;

    /// <summary>Most tenants held in memory with their rate tables; past it, one cached tenant is dropped for each new one (and loaded again on its next request).</summary>
    [Range(1, 10_000_000)]
    public int MaxTenants { get; set; } = 100_000;
}
