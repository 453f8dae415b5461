namespace CommsCredits.Gateway.Tenants;

using CommsCredits.Gateway.Rating;

/// <summary>
/// A tenant as stored in PostgreSQL. A funding lot expires FundingExpiryMonths after its purchase. A debit that takes
/// the balance below AutoRechargeTriggerMicros (null when auto-recharge is off) makes a recharge due, one below a level
/// of LowBalanceLevelsMicros a low-balance warning.
/// </summary>
public sealed record TenantRecord(
    string TenantId,
    string Currency,
    string DisplayName,
    DateTimeOffset CreatedAt,
    long RatesRevision,
    int FundingExpiryMonths,
    string TimeZone,
    long? AutoRechargeTriggerMicros,
    IReadOnlyList<long> LowBalanceLevelsMicros)
{
    /// <summary>The trigger as the debit scripts take it: micros, or empty when auto-recharge is off. Built once per load.</summary>
    public string TriggerArgument { get; } = AutoRechargeTriggerMicros is { } trigger ? trigger.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty;

    /// <summary>The low-balance levels as the debit scripts take them: micros joined by ',', or empty. Built once per load.</summary>
    public string LowBalanceLevelsArgument { get; } =
        string.Join(',', LowBalanceLevelsMicros.Select(level => level.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>A tenant as the charging path needs it: its settings, its rate tables and its directory, in memory.</summary>
public sealed record TenantProfile(TenantRecord Tenant, RateBook Rates, TenantDirectory Directory)
{
    public TenantRevisions Revisions => new(Tenant.RatesRevision, Directory.Revision);

    /// <summary>
    /// Whether this profile was loaded after <paramref name="other"/>. Revisions only grow and a load reads them
    /// before what they cover, so of two loads of a tenant one has both revisions at least as high as the other's.
    /// </summary>
    public bool IsNewerThan(TenantProfile other) =>
        Tenant.RatesRevision > other.Tenant.RatesRevision || Directory.Revision > other.Directory.Revision;
}

/// <summary>The counters that tell a gateway its copy of a tenant is stale: rate imports and directory changes.</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
public readonly record struct TenantRevisions(long Rates, long Directory);
