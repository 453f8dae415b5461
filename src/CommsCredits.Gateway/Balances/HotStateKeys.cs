namespace CommsCredits.Gateway.Balances;

/// <summary>
/// Names of a tenant's Redis keys. The tenant id sits in a {hash tag}, so every key of one tenant lands in one Redis
/// Cluster slot and one script can touch them all atomically. Tenant ids cannot contain braces (see
/// RequestValidator), so a tenant cannot break out of its tag.
/// </summary>
public static class HotStateKeys
{
    private const string Prefix = "cc:{";

    /// <summary>Hash: epoch, balance, held, opseq.</summary>
    public static string Account(string tenantId) => string.Concat(Prefix, tenantId, "}:account");

    /// <summary>Hash: one session (or event) with its tariff, counters and stored answers.</summary>
    public static string Session(string tenantId, string sessionId) => string.Concat(Prefix, tenantId, "}:session:", sessionId);

    /// <summary>Sorted set: open session id → the time (Unix ms) after which the supervisor closes it.</summary>
    public static string SessionDeadlines(string tenantId) => string.Concat(Prefix, tenantId, "}:session_deadlines");

    /// <summary>Hash: operation number → encoded settlement not yet known to be in the ledger.</summary>
    public static string Pending(string tenantId) => string.Concat(Prefix, tenantId, "}:pending");

    /// <summary>Hash: funding lot id ("epoch.operation" of the entry that created it) → micros left in it.</summary>
    public static string Lots(string tenantId) => string.Concat(Prefix, tenantId, "}:lots");

    /// <summary>Sorted set: funding lot ids scored by their expiry (Unix ms), so the earliest comes first.</summary>
    public static string LotExpiry(string tenantId) => string.Concat(Prefix, tenantId, "}:lot_expiry");

    /// <summary>Hash: the stored answer of one funding, by its idempotency key.</summary>
    public static string Funding(string tenantId, string idempotencyKey) => string.Concat(Prefix, tenantId, "}:funding:", idempotencyKey);

    /// <summary>The pattern that matches every tenant's pending hash, for the sweeper.</summary>
    public const string PendingPattern = "cc:{*}:pending";

    /// <summary>The tenant id inside a pending key, or null when the key is not one.</summary>
    public static string? TenantOfPendingKey(string key)
    {
        const string suffix = "}:pending";
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || !key.EndsWith(suffix, StringComparison.Ordinal) || key.Length <= Prefix.Length + suffix.Length)
        {
            return null;
        }

        return key[Prefix.Length..^suffix.Length];
    }
}
