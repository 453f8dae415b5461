namespace CommsCredits.Gateway.Ledger;

/// <summary>
/// The advisory lock that orders ledger writes against hot-state rebuilds. Every settlement batch holds it shared;
/// a rebuild (HotStateLoader) holds it exclusively while it advances a tenant's epoch and sums its ledger. So a batch
/// either commits before the rebuild sums (and is counted), or runs after the new epoch is visible (and its stale
/// settlements are refused). Rebuilds are rare (a lost Redis), and short.
/// </summary>
public static class LedgerLocks
{
    public const long HotStateRebuildKey = 0x436f6d6d73486f74;
}
