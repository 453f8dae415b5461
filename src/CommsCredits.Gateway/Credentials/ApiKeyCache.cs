namespace CommsCredits.Gateway.Credentials;

using System.Collections.Concurrent;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Options;

/// <summary>Whether a key id is in memory.</summary>
public enum KeyLookup
{
    /// <summary>An active key, held in memory.</summary>
    Found,

    /// <summary>Recently found unknown or revoked in PostgreSQL: refuse without asking again.</summary>
    Unknown,

    /// <summary>Not in memory: ask PostgreSQL (<see cref="ApiKeyCache.LoadAsync"/>).</summary>
    NotInMemory,
}

/// <summary>
/// Active API keys held in memory, so that checking the key of a charging request costs a dictionary lookup and a
/// SHA-256 rather than a PostgreSQL round trip. A key is loaded on first use; unknown and revoked ids are remembered
/// for a while; lookups in PostgreSQL are bounded in number (<see cref="CredentialsOptions.MaxConcurrentKeyLoads"/>),
/// so made-up keys cannot flood it. <see cref="ApiKeyRefresher"/> drops revoked keys.
/// </summary>
public sealed class ApiKeyCache : IDisposable
{
    /// <summary>Refreshes ask PostgreSQL about this many cached keys per query.</summary>
    public const int RefreshBatchSize = 1_000;

    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(10);

    private readonly ApiKeyStore store;
    private readonly TimeProvider timeProvider;
    private readonly CredentialsOptions settings;
    private readonly ConcurrentDictionary<string, ActiveApiKey> keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ActiveApiKey>.AlternateLookup<ReadOnlySpan<char>> keysBySpan;
    private readonly ConcurrentDictionary<string, long> unknownUntilTicks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> unknownBySpan;
    private readonly SingleFlight<ActiveApiKey?> loading = new();
    private readonly SemaphoreSlim loadSlots;
    private int pendingLoads;

    /// <summary>
    /// Counts forgotten keys. A load that read PostgreSQL before a revocation may finish after the revocation was
    /// applied here; it must not put the revoked key back, so a load caches its result only if nothing was forgotten
    /// while it ran.
    /// </summary>
    private long forgottenCount;

    private long loadCount;

    public ApiKeyCache(ApiKeyStore store, IOptions<CredentialsOptions> options, TimeProvider timeProvider)
    {
        this.store = store;
        this.timeProvider = timeProvider;
        settings = options.Value;
        keysBySpan = keys.GetAlternateLookup<ReadOnlySpan<char>>();
        unknownBySpan = unknownUntilTicks.GetAlternateLookup<ReadOnlySpan<char>>();
        loadSlots = new SemaphoreSlim(settings.MaxConcurrentKeyLoads, settings.MaxConcurrentKeyLoads);
    }

    /// <summary>Key lookups that went to PostgreSQL since start: what a flood of unknown keys costs.</summary>
    public long LoadCount => Interlocked.Read(ref loadCount);

    /// <summary>Looks a key id up in memory only; allocates nothing.</summary>
    public KeyLookup TryGet(ReadOnlySpan<char> keyId, out ActiveApiKey? key)
    {
        if (keysBySpan.TryGetValue(keyId, out key))
        {
            return KeyLookup.Found;
        }

        return unknownBySpan.TryGetValue(keyId, out var until) && until > timeProvider.GetUtcNow().UtcTicks
            ? KeyLookup.Unknown
            : KeyLookup.NotInMemory;
    }

    /// <summary>
    /// Loads a key from PostgreSQL (concurrent callers with the same id share one query); null when it is unknown or
    /// revoked. Throws <see cref="StorageUnavailableException"/> when too many lookups are pending or one takes too long.
    /// </summary>
    public Task<ActiveApiKey?> LoadAsync(string keyId, CancellationToken cancellationToken) =>
        loading.RunAsync(keyId, LoadBoundedAsync).WaitAsync(cancellationToken);

    /// <summary>Drops a key from memory (it was revoked); the next call with it asks PostgreSQL.</summary>
    public void Forget(string keyId)
    {
        Interlocked.Increment(ref forgottenCount);
        keys.TryRemove(keyId, out _);
    }

    /// <summary>Asks PostgreSQL about every key in memory, in bounded batches, and drops those no longer active.</summary>
    public async Task<int> RefreshAsync(CancellationToken cancellationToken)
    {
        var dropped = 0;
        foreach (var batch in keys.Keys.Chunk(RefreshBatchSize))
        {
            var active = await store.FindActiveAsync(batch, cancellationToken);
            foreach (var keyId in batch)
            {
                if (!active.ContainsKey(keyId))
                {
                    Forget(keyId);
                    dropped++;
                }
            }
        }

        return dropped;
    }

    public void Dispose() => loadSlots.Dispose();

    private async Task<ActiveApiKey?> LoadBoundedAsync(string keyId)
    {
        if (Interlocked.Increment(ref pendingLoads) > settings.MaxWaitingKeyLoads)
        {
            Interlocked.Decrement(ref pendingLoads);
            throw new StorageUnavailableException(
                $"too many API keys are being looked up at once (Credentials:MaxWaitingKeyLoads is {settings.MaxWaitingKeyLoads}); retry");
        }

        using var timeout = new CancellationTokenSource(LoadTimeout);
        try
        {
            await loadSlots.WaitAsync(timeout.Token);
            try
            {
                return await QueryAsync(keyId, timeout.Token);
            }
            finally
            {
                loadSlots.Release();
            }
        }
        catch (OperationCanceledException exception) when (timeout.IsCancellationRequested)
        {
            throw new StorageUnavailableException($"looking up an API key took longer than {LoadTimeout.TotalSeconds} s; retry", exception);
        }
        finally
        {
            Interlocked.Decrement(ref pendingLoads);
        }
    }

    private async Task<ActiveApiKey?> QueryAsync(string keyId, CancellationToken cancellationToken)
    {
        var forgottenBefore = Interlocked.Read(ref forgottenCount);
        Interlocked.Increment(ref loadCount);
        var key = await store.FindActiveAsync(keyId, cancellationToken);
        if (key is null)
        {
            RememberUnknown(keyId);
        }
        else if (Interlocked.Read(ref forgottenCount) == forgottenBefore)
        {
            Remember(key);
        }

        return key;
    }

    private void Remember(ActiveApiKey key)
    {
        if (keys.Count >= settings.MaxCachedKeys && !keys.ContainsKey(key.KeyId))
        {
            // A crude bound, as in the tenant catalog: drop an arbitrary key; it is loaded again on its next call.
            foreach (var keyId in keys.Keys)
            {
                keys.TryRemove(keyId, out _);
                break;
            }
        }

        keys[key.KeyId] = key;
        unknownUntilTicks.TryRemove(key.KeyId, out _);
    }

    private void RememberUnknown(string keyId)
    {
        if (settings.UnknownKeyCacheSeconds == 0)
        {
            return;
        }

        if (unknownUntilTicks.Count >= settings.MaxUnknownKeys)
        {
            unknownUntilTicks.Clear();
        }

        unknownUntilTicks[keyId] = timeProvider.GetUtcNow().AddSeconds(settings.UnknownKeyCacheSeconds).UtcTicks;
    }
}
