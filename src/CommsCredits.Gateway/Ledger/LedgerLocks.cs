namespace CommsCredits.Gateway.Ledger;

/// <summary>
/// The advisory locks that order ledger writes against hot-state rebuilds, one per tenant: the two-int key
/// (<see cref="HotStateRebuildClass"/>, hashtext(tenant id)). Every settlement batch holds the locks of its tenants shared;
/// a rebuild (HotStateLoader) holds its tenant's exclusively while it advances the tenant's epoch and reads its ledger and
/// session journal. So a batch either commits before the rebuild reads (and is counted), or runs after the new epoch is
/// visible (and its stale settlements are refused). A rebuild stops only its own tenant's batches; two tenants whose ids
/// hash alike share a lock, which costs waiting, never correctness.
/// </summary>
public static class LedgerLocks
{
    /// <summary>The first key of the rebuild locks (the second is hashtext(tenant id)); other classes: DirectoryRepository, and 0x436f6d50 (1131375952), taken by migration 0010's ensure_monthly_partitions.</summary>
    public const int HotStateRebuildClass = 0x436f6d48;

    /// <summary>Takes the rebuild locks of a batch's tenants (@tenant_ids) shared, in key order.</summary>
    public const string ShareTenantsSql =
        "SELECT count(pg_advisory_xact_lock_shared(@lock_class, k)) FROM (SELECT DISTINCT hashtext(t) AS k FROM unnest(@tenant_ids) AS t ORDER BY 1) AS keys";

    /// <summary>Takes one tenant's (@tenant) rebuild lock exclusively.</summary>
    public const string TakeTenantSql = "SELECT pg_advisory_xact_lock(@lock_class, hashtext(@tenant))";
}
