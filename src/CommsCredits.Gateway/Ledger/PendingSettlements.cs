namespace CommsCredits.Gateway.Ledger;

using CommsCredits.Gateway.Balances;

/// <summary>
/// The settlements Redis holds that the ledger may not have yet: every tenant's pending hash (a script adds a settlement
/// there, the writer removes it once it is committed), walked across every primary. The pending sweeper writes what it
/// finds; a partition detach refuses to seal a month that one of them is dated in, since it could never be written there.
/// </summary>
public sealed class PendingSettlements(IHotStore hotStore)
{
    /// <summary>
    /// The pending settlements, decoded, at most <paramref name="maxSettlements"/> (the walk stops there and says so), and
    /// the records that cannot be read (a script and the codec disagree: a bug), each with its key.
    /// </summary>
    public async Task<PendingSettlementsRead> ReadAsync(int maxSettlements, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSettlements, 1);
        var keys = await hotStore.ScanKeysAsync(HotStateKeys.PendingPattern, maxSettlements, cancellationToken);
        var settlements = new List<Settlement>();
        var unreadable = new List<UnreadableSettlement>();
        var complete = keys.Count < maxSettlements;
        foreach (var key in keys)
        {
            var room = maxSettlements - settlements.Count - unreadable.Count;
            if (room <= 0)
            {
                complete = false;
                break;
            }

            var tenantId = HotStateKeys.TenantOfPendingKey(key);
            if (tenantId is null)
            {
                continue;
            }

            var entries = await hotStore.ReadHashValuesAsync(key, room, cancellationToken);
            complete &= entries.Count < room;
            foreach (var encoded in entries)
            {
                try
                {
                    settlements.Add(SettlementCodec.Decode(tenantId, encoded));
                }
                catch (FormatException exception)
                {
                    unreadable.Add(new UnreadableSettlement(key, exception));
                }
            }
        }

        return new PendingSettlementsRead(settlements, unreadable, complete);
    }
}

/// <summary>What <see cref="PendingSettlements.ReadAsync"/> found; <paramref name="Complete"/> is false when it stopped at its bound.</summary>
public sealed record PendingSettlementsRead(IReadOnlyList<Settlement> Settlements, IReadOnlyList<UnreadableSettlement> Unreadable, bool Complete);

/// <summary>A pending record that <see cref="SettlementCodec"/> cannot decode, and the pending hash it is in.</summary>
public sealed record UnreadableSettlement(string Key, FormatException Error);
