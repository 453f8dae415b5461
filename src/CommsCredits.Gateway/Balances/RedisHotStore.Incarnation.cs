namespace CommsCredits.Gateway.Balances;

using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Logging;

/// <summary>
/// The incarnation check: the hot state a gateway serves must have been built in the Redis dataset it talks to now. A
/// Redis that comes back from a restart with data (its RDB or AOF files) or a promoted replica may have lost its latest
/// writes: its accounts would hand out operation numbers the ledger already holds (their settlements would be taken
/// for ones already written, and lost) and charge from stale balances. So after every connection failure, and in a Redis
/// Cluster after every slot move or new configuration the client sees, before any other command, the store reads each
/// primary's identity (its run id, which changes with every start, and its replication id, which changes when a replica
/// is promoted; incarnation.lua) and compares it with that primary's marker key; on a primary where they differ, every
/// account not built in that dataset is dropped (retire_account.lua) and rebuilt from the ledger on its next use, calls
/// in progress included, exactly as after a lost Redis. The identity the store hands out for new accounts is the list of
/// every primary's identity (load_account.lua records it), and an account is kept when the primary holding it is in its
/// list: so several gateways checking at once drop only stale accounts, never each other's rebuilt ones, and a slot
/// migrated to another primary (its keys move intact) is kept. A single Redis is one primary whose marker is
/// <see cref="IncarnationKey"/>; a cluster primary's marker is <see cref="ClusterMarkerKey"/> of its first slot.
/// </summary>
public sealed partial class RedisHotStore
{
    /// <summary>The key holding the identity of the Redis dataset whose hot state has been checked (a single Redis).</summary>
    public const string IncarnationKey = "cc:incarnation";

    /// <summary>Most accounts one check looks at on one primary (far above Catalog:MaxTenants); any beyond are logged, not checked.</summary>
    private const int MaxAccountsChecked = 1_000_000;

    private readonly SemaphoreSlim checking = new(1, 1);

    /// <summary>The identities the hot state was last checked against, or null when a connection failed or a slot moved since.</summary>
    private volatile string? incarnation;

    /// <summary>Counts the events that call for a check, so a check that overlapped one does not count as done.</summary>
    private int incarnationEvents;

    public ValueTask<string> IncarnationAsync(CancellationToken cancellationToken)
    {
        var known = incarnation;
        return known is not null ? ValueTask.FromResult(known) : new ValueTask<string>(CheckIncarnationAsync(cancellationToken));
    }

    /// <summary>Every command waits for this: a no-op unless a connection failed or a slot moved since the last check.</summary>
    private ValueTask EnsureCheckedAsync(CancellationToken cancellationToken) =>
        incarnation is not null ? ValueTask.CompletedTask : new ValueTask(CheckIncarnationAsync(cancellationToken));

    private void ForgetIncarnation()
    {
        Interlocked.Increment(ref incarnationEvents);
        incarnation = null;
    }

    private async Task<string> CheckIncarnationAsync(CancellationToken cancellationToken)
    {
        await checking.WaitAsync(cancellationToken);
        try
        {
            if (incarnation is { } checkedAlready)
            {
                return checkedAlready;
            }

            var events = Volatile.Read(ref incarnationEvents);
            var identities = new List<string>();
            foreach (var primary in await PrimariesAsync(cancellationToken))
            {
                var reply = await RunUncheckedAsync(HotScriptName.Incarnation, [primary.MarkerKey], [], cancellationToken);
                var (identity, marker) = (reply[0]!, reply[1]);
                if (!string.Equals(marker, identity, StringComparison.Ordinal))
                {
                    await RetireStaleAccountsAsync(primary, identity, marker, cancellationToken);
                }

                identities.Add(identity);
            }

            identities.Sort(StringComparer.Ordinal);
            var checkedNow = string.Join(',', identities);
            // An event during the check (a failover, a slot move) may concern a primary checked before it: check again next time.
            if (events == Volatile.Read(ref incarnationEvents))
            {
                incarnation = checkedNow;
            }

            return checkedNow;
        }
        finally
        {
            checking.Release();
        }
    }

    private async Task RetireStaleAccountsAsync(Primary primary, string identity, string? marker, CancellationToken cancellationToken)
    {
        var accounts = await ScanPrimaryAsync(primary, "cc:{*}:account", MaxAccountsChecked, cancellationToken);
        var retired = 0;
        foreach (var account in accounts)
        {
            var reply = await RunUncheckedAsync(HotScriptName.RetireAccount, [account], [], cancellationToken);
            retired += string.Equals(reply[0], "retired", StringComparison.Ordinal) ? 1 : 0;
        }

        // Through the script, not SET: StackExchange.Redis 1.2.6 failed a plain SET (ProtocolFailure) for minutes after a
        // graceful failover, while scripts on the same slot ran.
        var recorded = await RunUncheckedAsync(HotScriptName.Incarnation, [primary.MarkerKey], [identity], cancellationToken);
        if (!string.Equals(recorded[1], identity, StringComparison.Ordinal))
        {
            throw new StorageUnavailableException($"Redis primary {primary.Name} changed identity during the incarnation check ({identity}, now {recorded[0]})");
        }
        if (retired > 0)
        {
            LogStaleAccountsRetired(logger, primary.Name, identity, marker ?? "none", accounts.Count, retired);
        }
        else
        {
            LogIncarnationChecked(logger, primary.Name, identity, accounts.Count);
        }

        if (accounts.Count >= MaxAccountsChecked)
        {
            LogTooManyAccounts(logger, primary.Name, MaxAccountsChecked);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis primary {Primary} is a dataset the hot state was not checked against (identity {Identity}, checked against {Previous}): {Retired} of its {Accounts} tenant accounts were built in another dataset and will be rebuilt from the ledger")]
    private static partial void LogStaleAccountsRetired(ILogger logger, string primary, string identity, string previous, int accounts, int retired);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis primary {Primary} (identity {Identity}) checked: none of its {Accounts} tenant accounts was built in another dataset")]
    private static partial void LogIncarnationChecked(ILogger logger, string primary, string identity, int accounts);

    [LoggerMessage(Level = LogLevel.Error, Message = "More than {Count} tenant accounts on Redis primary {Primary}: the ones beyond were not checked against its dataset")]
    private static partial void LogTooManyAccounts(ILogger logger, string primary, int count);
}
