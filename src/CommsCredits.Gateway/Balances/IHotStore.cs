namespace CommsCredits.Gateway.Balances;

/// <summary>
/// Everything the gateway asks of Redis, kept this small so the client library can be swapped: run one of our
/// scripts, read a few hash fields, forget settled entries, find pending settlements.
/// </summary>
public interface IHotStore
{
    /// <summary>Runs a script; its reply is a flat list of strings (null for a Lua false).</summary>
    Task<string?[]> RunAsync(HotScriptName script, string[] keys, string[] arguments, CancellationToken cancellationToken);

    Task<string?[]> ReadHashAsync(string key, string[] fields, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxEntries"/> values of a hash, read in pages (HSCAN), never all at once.</summary>
    Task<IReadOnlyList<string>> ReadHashValuesAsync(string key, int maxEntries, CancellationToken cancellationToken);

    /// <summary>Deletes hash fields; used only for pending settlements that the ledger now holds.</summary>
    Task DeleteHashFieldsAsync(string key, string[] fields, CancellationToken cancellationToken);

    /// <summary>Keys matching a pattern on every primary (SCAN, in pages), at most <paramref name="maxKeys"/>.</summary>
    Task<IReadOnlyList<string>> ScanKeysAsync(string pattern, int maxKeys, CancellationToken cancellationToken);

    /// <summary>The number of members of a sorted set (ZCARD); 0 when there is none.</summary>
    Task<long> SortedSetLengthAsync(string key, CancellationToken cancellationToken);

    Task<bool> PingAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The identity of the Redis process (its run id) that this gateway has checked the hot state against: a rebuilt
    /// account records it, so that state a restarted Redis brings back from disk is told apart and rebuilt.
    /// </summary>
    ValueTask<string> IncarnationAsync(CancellationToken cancellationToken);
}
