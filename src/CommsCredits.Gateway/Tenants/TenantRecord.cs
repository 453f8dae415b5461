namespace CommsCredits.Gateway.Tenants;

using CommsCredits.Gateway.Rating;

/// <summary>A tenant as stored in PostgreSQL. A funding lot expires FundingExpiryMonths after its purchase.</summary>
public sealed record TenantRecord(
    string TenantId, string Currency, string DisplayName, DateTimeOffset CreatedAt, long RatesRevision, int FundingExpiryMonths, string TimeZone);

/// <summary>A tenant as the charging path needs it: its settings and its rate tables, in memory.</summary>
public sealed record TenantProfile(TenantRecord Tenant, RateBook Rates);
