namespace CommsCredits.Gateway.Reconciliation;

using System.Globalization;
using System.Text;

/// <summary>What disagrees in one tenant's books. Several may at once.</summary>
[Flags]
public enum DriftKinds
{
    None = 0,

    /// <summary>Redis's balance is not the ledger's plus the settlements Redis applied that the ledger does not hold yet.</summary>
    Balance = 1,

    /// <summary>Redis serves another epoch than the tenant's current one in PostgreSQL: its hot state is stale.</summary>
    Epoch = 2,

    /// <summary>Redis's funding lots do not add up to Redis's balance.</summary>
    RedisLots = 4,

    /// <summary>The ledger's funding lots hold less than the ledger balance (a rebuild from the ledger would fail).</summary>
    LedgerLots = 8,

    /// <summary>The call records' charges are not the ledger debits of those calls.</summary>
    CallRecords = 16,

    /// <summary>Redis's state cannot be read: a field that is not a number, an unreadable or too many pending settlements.</summary>
    Unreadable = 32,
}

/// <summary>A tenant's hot state as one snapshot of Redis saw it.</summary>
/// <param name="Epoch">The epoch Redis serves.</param>
/// <param name="BalanceMicros">The balance; null when the field is not a number.</param>
/// <param name="HeldMicros">What open sessions hold; null when the field is not a number.</param>
/// <param name="OperationSequence">The last operation number Redis gave out under <paramref name="Epoch"/>.</param>
/// <param name="LotsMicros">What the lots hold in all; null when one of them is not a number.</param>
/// <param name="PendingCount">Settlements in the pending hash.</param>
/// <param name="Pending">The encoded pending settlements; null when there were more than Reconciliation:MaxPendingSettlements.</param>
public sealed record RedisSnapshot(
    long Epoch, long? BalanceMicros, long? HeldMicros, long OperationSequence, long? LotsMicros, long PendingCount, IReadOnlyList<string>? Pending);

/// <summary>
/// One tenant's reconciliation: the ledger (as of one PostgreSQL snapshot), Redis (as of one Redis snapshot), the
/// pending settlements that bridge the two, the call records, and what disagrees.
/// </summary>
public sealed record TenantReconciliation
{
    public required string TenantId { get; init; }

    /// <summary>The tenant's current epoch in PostgreSQL (tenants.hot_epoch).</summary>
    public required long LedgerEpoch { get; init; }

    /// <summary>The sum of all the tenant's ledger entries: the balance, by definition.</summary>
    public required long LedgerBalanceMicros { get; init; }

    /// <summary>What the ledger's funding lots still hold (amounts less the draws on them).</summary>
    public required long LedgerLotsMicros { get; init; }

    /// <summary>Redis's state; null when Redis holds none for the tenant (not loaded: it is rebuilt on first use).</summary>
    public RedisSnapshot? Redis { get; init; }

    /// <summary>The ledger's balance counting only the operations Redis had applied when it was read.</summary>
    public long LedgerAtRedisSnapshotMicros { get; init; }

    /// <summary>Settlements Redis applied (pending) that the ledger does not hold yet: how many, and their sum.</summary>
    public int PendingNotInLedgerCount { get; init; }

    public long PendingNotInLedgerMicros { get; init; }

    /// <summary>Pending settlements that could not be decoded.</summary>
    public int UnreadablePendingCount { get; init; }

    public long CallRecordCount { get; init; }

    /// <summary>The sum of the call records' charges.</summary>
    public long CallChargesMicros { get; init; }

    /// <summary>The ledger debits of the calls that have a call record (as a positive number), pending ones included.</summary>
    public long CallDebitsMicros { get; init; }

    public DriftKinds Drift { get; init; }

    public bool Loaded => Redis is not null;

    /// <summary>Redis's balance less what the ledger and the pending settlements say it should be.</summary>
    public long? BalanceDifferenceMicros => Redis?.BalanceMicros - (LedgerAtRedisSnapshotMicros + PendingNotInLedgerMicros);

    public long CallDifferenceMicros => CallChargesMicros - CallDebitsMicros;

    /// <summary>Drift that rebuilding Redis from the ledger can mend; call records and the ledger's own lots it cannot.</summary>
    public const DriftKinds RepairableByRebuild = DriftKinds.Balance | DriftKinds.Epoch | DriftKinds.RedisLots | DriftKinds.Unreadable;

    /// <summary>The drift in words, with the numbers; empty when there is none.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        void Add(string part) => text.Append(text.Length == 0 ? string.Empty : "; ").Append(part);
        var redis = Redis;
        if (Drift.HasFlag(DriftKinds.Balance) && redis is not null)
        {
            Add(Invariant($"balance: Redis {redis.BalanceMicros} vs ledger {LedgerAtRedisSnapshotMicros} + pending {PendingNotInLedgerMicros} ({PendingNotInLedgerCount} settlements), difference {BalanceDifferenceMicros} micros"));
        }

        if (Drift.HasFlag(DriftKinds.Epoch) && redis is not null)
        {
            Add(Invariant($"epoch: Redis serves {redis.Epoch}, the ledger's is {LedgerEpoch} (stale hot state)"));
        }

        if (Drift.HasFlag(DriftKinds.RedisLots) && redis is not null)
        {
            Add(Invariant($"Redis lots: hold {redis.LotsMicros} vs Redis balance {redis.BalanceMicros}"));
        }

        if (Drift.HasFlag(DriftKinds.LedgerLots))
        {
            Add(Invariant($"ledger lots: hold {LedgerLotsMicros} vs ledger balance {LedgerBalanceMicros}"));
        }

        if (Drift.HasFlag(DriftKinds.CallRecords))
        {
            Add(Invariant($"call records: {CallRecordCount} records charge {CallChargesMicros} vs ledger debits of those calls {CallDebitsMicros}, difference {CallDifferenceMicros} micros"));
        }

        if (Drift.HasFlag(DriftKinds.Unreadable) && redis is not null)
        {
            Add(redis.Pending is null
                ? Invariant($"Redis unreadable: {redis.PendingCount} pending settlements, more than Reconciliation:MaxPendingSettlements")
                : Invariant($"Redis unreadable: balance '{redis.BalanceMicros}', held '{redis.HeldMicros}', lots '{redis.LotsMicros}', {UnreadablePendingCount} unreadable pending settlements"));
        }

        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
