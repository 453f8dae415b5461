namespace CommsCredits.Gateway.Balances;

using Microsoft.Extensions.Logging;
using StackExchange.Redis;

/// <summary>
/// The incarnation check: the hot state a gateway serves must have been built in the Redis process it talks to now. A
/// Redis that comes back from a restart with data (its RDB or AOF files, a promoted replica) may have lost its latest
/// writes: its accounts would hand out operation numbers the ledger already holds (their settlements would be taken
/// for ones already written, and lost) and charge from stale balances. So after every connection failure, before any
/// other command, the store reads the server's run id (it changes with every start; incarnation.lua) and compares it
/// with the marker key; when they differ, every account built in another process is dropped (retire_account.lua) and rebuilt
/// from the ledger on its next use, calls in progress included, exactly as after a lost Redis. Accounts record the run
/// id they were built in (load_account.lua), so several gateways checking at once drop only stale accounts, never
/// each other's rebuilt ones. One Redis server is assumed: in a Redis Cluster the marker would name one node's process.
/// </summary>
public sealed partial class RedisHotStore
{
    /// <summary>The key holding the run id of the Redis process whose hot state has been checked.</summary>
    public const string IncarnationKey = "cc:incarnation";

    /// <summary>Most accounts one check looks at (far above Catalog:MaxTenants); any beyond are logged, not checked.</summary>
    private const int MaxAccountsChecked = 1_000_000;

    private readonly SemaphoreSlim checking = new(1, 1);

    /// <summary>The run id the hot state was last checked against, or null when a connection failed since.</summary>
    private volatile string? incarnation;

    public ValueTask<string> IncarnationAsync(CancellationToken cancellationToken)
    {
        var known = incarnation;
        return known is not null ? ValueTask.FromResult(known) : new ValueTask<string>(CheckIncarnationAsync(cancellationToken));
    }

    /// <summary>Every command waits for this: a no-op unless a connection failed since the last check.</summary>
    private ValueTask EnsureCheckedAsync(CancellationToken cancellationToken) =>
        incarnation is not null ? ValueTask.CompletedTask : new ValueTask(CheckIncarnationAsync(cancellationToken));

    private async Task<string> CheckIncarnationAsync(CancellationToken cancellationToken)
    {
        await checking.WaitAsync(cancellationToken);
        try
        {
            if (incarnation is { } checkedAlready)
            {
                return checkedAlready;
            }

            var reply = await RunUncheckedAsync(HotScriptName.Incarnation, [IncarnationKey], [], cancellationToken);
            var (runId, marker) = (reply[0]!, reply[1]);
            if (!string.Equals(marker, runId, StringComparison.Ordinal))
            {
                await RetireStaleAccountsAsync(runId, marker, cancellationToken);
            }

            incarnation = runId;
            return runId;
        }
        finally
        {
            checking.Release();
        }
    }

    private async Task RetireStaleAccountsAsync(string runId, string? marker, CancellationToken cancellationToken)
    {
        var accounts = await ScanUncheckedAsync("cc:{*}:account", MaxAccountsChecked, cancellationToken);
        var retired = 0;
        foreach (var account in accounts)
        {
            var reply = await RunUncheckedAsync(HotScriptName.RetireAccount, [account], [runId], cancellationToken);
            retired += string.Equals(reply[0], "retired", StringComparison.Ordinal) ? 1 : 0;
        }

        await Bounded(database.StringSetAsync(IncarnationKey, runId), cancellationToken);
        if (retired > 0)
        {
            LogStaleAccountsRetired(logger, runId, marker ?? "none", accounts.Count, retired);
        }
        else
        {
            LogIncarnationChecked(logger, runId, accounts.Count);
        }

        if (accounts.Count >= MaxAccountsChecked)
        {
            LogTooManyAccounts(logger, MaxAccountsChecked);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is a process the hot state was not checked against (run id {RunId}, checked against {Previous}): {Retired} of {Accounts} tenant accounts were built in another process and will be rebuilt from the ledger")]
    private static partial void LogStaleAccountsRetired(ILogger logger, string runId, string previous, int accounts, int retired);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis process {RunId} checked: none of its {Accounts} tenant accounts was built in another process")]
    private static partial void LogIncarnationChecked(ILogger logger, string runId, int accounts);

    [LoggerMessage(Level = LogLevel.Error, Message = "More than {Count} tenant accounts in Redis: the ones beyond were not checked against the Redis process")]
    private static partial void LogTooManyAccounts(ILogger logger, int count);
}
