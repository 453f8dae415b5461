namespace CommsCredits.Gateway.Balances;

using System.Globalization;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Storage;

/// <summary>
/// The charging path's access to money: runs a tenant's script (rebuilding the tenant's state first if Redis lacks
/// it), and makes the settlement a script produced durable before the request is acknowledged.
/// </summary>
public sealed class HotState(IHotStore store, HotStateLoader loader, SettlementWriter writer)
{
    /// <summary>The status a script replies with when the tenant's state is not in Redis.</summary>
    public const string NotLoaded = "not_loaded";

    /// <summary>
    /// Runs a script of one tenant. When Redis lacks the tenant's state it is rebuilt from the ledger and the script
    /// runs once more. Returns null when the tenant does not exist in the ledger.
    /// </summary>
    public async Task<string?[]?> RunAsync(string tenantId, HotScriptName script, string[] keys, string[] arguments, CancellationToken cancellationToken)
    {
        var reply = await store.RunAsync(script, keys, arguments, cancellationToken);
        if (!string.Equals(reply[0], NotLoaded, StringComparison.Ordinal))
        {
            return reply;
        }

        if (!await loader.EnsureLoadedAsync(tenantId, cancellationToken))
        {
            return null;
        }

        reply = await store.RunAsync(script, keys, arguments, cancellationToken);
        if (string.Equals(reply[0], NotLoaded, StringComparison.Ordinal))
        {
            throw new StorageUnavailableException($"the hot state of tenant {tenantId} vanished again right after it was rebuilt");
        }

        return reply;
    }

    /// <summary>Refuses a new call (UNAVAILABLE) when the ledger has failed for longer than Settlement:MaxLedgerOutageSeconds.</summary>
    public void RefuseNewCallsIfLedgerDown() => writer.RefuseNewCallsIfLedgerDown();

    /// <summary>Runs a script that only reads, without rebuilding a tenant Redis lacks (nothing of it to read then).</summary>
    public Task<string?[]> RunWithoutLoadingAsync(HotScriptName script, string[] keys, string[] arguments, CancellationToken cancellationToken) =>
        store.RunAsync(script, keys, arguments, cancellationToken);

    /// <summary>
    /// Waits until the ledger holds the settlement a script returned (encoded; empty when there is nothing to write).
    /// Throws <see cref="StorageUnavailableException"/> when it cannot be made durable: the request must not be
    /// acknowledged then.
    /// </summary>
    public async Task SettleAsync(string tenantId, string? encodedSettlement, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(encodedSettlement))
        {
            return;
        }

        var settlement = SettlementCodec.Decode(tenantId, encodedSettlement);
        await RefuseIfStaleAsync(settlement, await writer.WriteAsync(settlement, cancellationToken));
    }

    /// <summary>
    /// Makes a session's opening durable if the ledger takes it within <paramref name="wait"/>, so that the session
    /// survives the loss of Redis; otherwise (the ledger is failing or slow) the Reserve is answered from Redis alone,
    /// and its opening reaches the ledger from the pending hash later (the writer, or the sweeper). Throws
    /// <see cref="StorageUnavailableException"/> only when the ledger refused it for a stale epoch: the session was
    /// opened in a hot state that no longer counts.
    /// </summary>
    public async Task SettleOpeningAsync(string tenantId, string? encodedSettlement, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(encodedSettlement) || !writer.IsKeepingUp)
        {
            return;
        }

        var settlement = SettlementCodec.Decode(tenantId, encodedSettlement);
        SettlementOutcome outcome;
        try
        {
            outcome = await writer.WriteAsync(settlement, CancellationToken.None).WaitAsync(wait, cancellationToken);
        }
        catch (TimeoutException)
        {
            writer.NoteSlowLedger();
            return;
        }
        catch (StorageUnavailableException)
        {
            // Queue full, or the batch failed: the opening waits in the pending hash; the call goes on from Redis.
            return;
        }

        await RefuseIfStaleAsync(settlement, outcome);
    }

    private async Task RefuseIfStaleAsync(Settlement settlement, SettlementOutcome outcome)
    {
        if (outcome == SettlementOutcome.Committed)
        {
            return;
        }

        var tenantId = settlement.TenantId;

        // The ledger has moved to another epoch. If Redis still serves the refused one, its state is not the ledger's
        // (a rebuild whose commit failed): drop it so the next request rebuilds it.
        await store.RunAsync(
            HotScriptName.InvalidateAccount,
            [HotStateKeys.Account(tenantId)],
            [settlement.Epoch.ToString(CultureInfo.InvariantCulture)],
            CancellationToken.None);
        throw new StorageUnavailableException(
            $"the hot state of tenant {tenantId} was rebuilt from the ledger while this request was in flight; nothing was charged, retry");
    }

    /// <summary>The tenant's balance and held amount in micros, or null when the tenant does not exist.</summary>
    public async Task<(long BalanceMicros, long HeldMicros)?> ReadBalanceAsync(string tenantId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var values = await store.ReadHashAsync(HotStateKeys.Account(tenantId), ["balance", "held"], cancellationToken);
            if (values[0] is { } balance && values[1] is { } held)
            {
                return (Netstrings.ParseInteger(balance), Netstrings.ParseInteger(held));
            }

            if (!await loader.EnsureLoadedAsync(tenantId, cancellationToken))
            {
                return null;
            }
        }

        throw new StorageUnavailableException($"the hot state of tenant {tenantId} vanished again right after it was rebuilt");
    }
}
