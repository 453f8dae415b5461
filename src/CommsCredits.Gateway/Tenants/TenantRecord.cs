namespace CommsCredits.Gateway.Tenants;

using CommsCredits.Gateway.Rating;

/// <summary>A tenant as stored in PostgreSQL.</summary>
public sealed record TenantRecord(string TenantId, string Currency, string DisplayName, DateTimeOffset CreatedAt, long RatesRevision);

/// <summary>A tenant as the charging path needs it: its settings and its rate tables, in memory.</summary>
public sealed record TenantProfile(TenantRecord Tenant, RateBook Rates);
