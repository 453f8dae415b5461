namespace CommsCredits.Gateway.Balances;

using System.Diagnostics;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

/// <summary>
/// <see cref="IHotStore"/> on StackExchange.Redis 1.2.6 (the only version that restored here until 2026-12; 2.8 and 3.4,
/// measured against it, were not faster: docs/scaling.md). Scripts run by
/// EVALSHA, falling back to EVAL when the server has forgotten them (a restart empties its script cache). Every call
/// is bounded by Storage:RedisTimeoutMs; a timeout or connection failure becomes <see cref="StorageUnavailableException"/>.
/// After a connection failure, no command runs before the incarnation check (RedisHotStore.Incarnation.cs).
/// </summary>
public sealed partial class RedisHotStore : IHotStore, IDisposable
{
    private const int ScanPageSize = 500;

    /// <summary>
    /// Every command goes to the primary of its slot, or fails: the client's default (PreferMaster) falls back to a
    /// replica while the primary's connection is not up (at start, during a failover), and in a Redis Cluster the client
    /// puts replica connections in READONLY mode, so a replica would answer reads from a copy that may lag, and refuse
    /// the writes of a script after its reads.
    /// </summary>
    private const CommandFlags PrimaryOnly = CommandFlags.DemandMaster;
    private readonly ConnectionMultiplexer multiplexer;
    private readonly IDatabase database;
    private readonly TimeSpan timeout;
    private readonly ILogger<RedisHotStore> logger;

    /// <summary>1 while a read of the cluster configuration started by <see cref="RefreshTopology"/> runs.</summary>
    private int refreshingTopology;

    /// <summary>The duration histogram of each script, by <see cref="HotScriptName"/>; null when nobody measures.</summary>
    private readonly Histogram?[] scriptDurations;

    public RedisHotStore(IOptions<StorageOptions> options, ILogger<RedisHotStore> logger, GatewayMetrics? metrics = null)
    {
        this.logger = logger;
        scriptDurations = metrics?.ScriptDurations() ?? new Histogram?[Enum.GetValues<HotScriptName>().Length];
        var settings = options.Value;
        var configuration = ConfigurationOptions.Parse(settings.Redis);
        // Start even when Redis is down: requests fail with UNAVAILABLE until it is back, and the multiplexer reconnects.
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = Math.Max(settings.RedisTimeoutMs, 1_000);
        configuration.SyncTimeout = settings.RedisTimeoutMs;
        multiplexer = ConnectionMultiplexer.Connect(configuration);
        // The server may come back as another process, with state it brought back from disk, and in a Redis Cluster a
        // replica may take over a primary's slots (the client learns it from a MOVED answer or a new configuration):
        // check before the next command.
        multiplexer.ConnectionFailed += (_, _) => ForgetIncarnation();
        multiplexer.HashSlotMoved += (_, _) =>
        {
            ForgetIncarnation();
            RefreshTopology();
        };
        multiplexer.ConfigurationChanged += (_, _) => ForgetIncarnation();
        database = multiplexer.GetDatabase();
        timeout = TimeSpan.FromMilliseconds(settings.RedisTimeoutMs);
    }

    public async Task<string?[]> RunAsync(HotScriptName script, string[] keys, string[] arguments, CancellationToken cancellationToken)
    {
        await EnsureCheckedAsync(cancellationToken);
        return await RunUncheckedAsync(script, keys, arguments, cancellationToken);
    }

    private async Task<string?[]> RunUncheckedAsync(HotScriptName script, string[] keys, string[] arguments, CancellationToken cancellationToken)
    {
        var hotScript = HotScript.Get(script);
        var redisKeys = ToKeys(keys);
        var values = ToValues(arguments);
        RedisResult result;
        var started = Stopwatch.GetTimestamp();
        try
        {
            result = await EvaluateAsync(hotScript, redisKeys, values, cancellationToken);
        }
        finally
        {
            scriptDurations[(int)script]?.ObserveSince(started);
        }

        return Flatten(result);
    }

    /// <summary>
    /// EVALSHA, or EVAL when the server has forgotten the script. Scripts (every change to the hot state) go with
    /// NoRedirect: by default StackExchange.Redis 1.2.6 resends a command that the old owner of its slot answers MOVED to
    /// the new owner itself, before the incarnation check that the move calls for (HashSlotMoved) could run, and after a
    /// takeover that new owner may hold stale state. With NoRedirect the script fails unexecuted ("Endpoint ... serving
    /// hashslot N is not reachable", UNAVAILABLE) and its retry waits for the check. An ASK answer (a slot being
    /// migrated) fails the same way, so a tenant's scripts are UNAVAILABLE while its own slot migrates.
    /// </summary>
    private async Task<RedisResult> EvaluateAsync(HotScript hotScript, RedisKey[] keys, RedisValue[] values, CancellationToken cancellationToken)
    {
        const CommandFlags flags = PrimaryOnly | CommandFlags.NoRedirect;
        try
        {
            return await Bounded(database.ScriptEvaluateAsync(hotScript.Sha1, keys, values, flags), cancellationToken);
        }
        catch (RedisServerException exception) when (exception.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await Bounded(database.ScriptEvaluateAsync(hotScript.Text, keys, values, flags), cancellationToken);
        }
    }

    public async Task<string?[]> ReadHashAsync(string key, string[] fields, CancellationToken cancellationToken)
    {
        await EnsureCheckedAsync(cancellationToken);
        var names = ToValues(fields);
        var values = await Bounded(database.HashGetAsync(key, names, PrimaryOnly), cancellationToken);
        var texts = new string?[values.Length];
        for (var index = 0; index < values.Length; index++)
        {
            texts[index] = values[index].IsNull ? null : (string?)values[index];
        }

        return texts;
    }

    public async Task<IReadOnlyList<string>> ReadHashValuesAsync(string key, int maxEntries, CancellationToken cancellationToken)
    {
        await EnsureCheckedAsync(cancellationToken);
        // HSCAN answers field, value, field, value: keep every second item.
        var values = new List<string>();
        RedisKey hash = key;
        await ScanAsync(cursor => database.ExecuteAsync("HSCAN", [hash, cursor, "COUNT", ScanPageSize], PrimaryOnly), maxEntries, items =>
        {
            for (var index = 1; index < items.Length && values.Count < maxEntries; index += 2)
            {
                values.Add((string)items[index]!);
            }

            return values.Count;
        }, cancellationToken);
        return values;
    }

    public async Task DeleteHashFieldsAsync(string key, string[] fields, CancellationToken cancellationToken)
    {
        await EnsureCheckedAsync(cancellationToken);
        await Bounded(database.HashDeleteAsync(key, ToValues(fields), PrimaryOnly), cancellationToken);
    }

    /// <summary>Every primary in turn (one, or each of a Redis Cluster's), until <paramref name="maxKeys"/> keys in all.</summary>
    public async Task<IReadOnlyList<string>> ScanKeysAsync(string pattern, int maxKeys, CancellationToken cancellationToken)
    {
        await EnsureCheckedAsync(cancellationToken);
        var keys = new List<string>();
        foreach (var primary in await PrimariesAsync(cancellationToken))
        {
            if (keys.Count >= maxKeys)
            {
                break;
            }

            keys.AddRange(await ScanPrimaryAsync(primary, pattern, maxKeys - keys.Count, cancellationToken));
        }

        return keys;
    }

    /// <summary>
    /// Walks a SCAN-family cursor (SCAN on one primary, or HSCAN of a hash) one page at a time, each page an async
    /// command (<paramref name="page"/> of the cursor) bounded by Storage:RedisTimeoutMs like any other;
    /// <paramref name="take"/> consumes a page's items and returns how many it holds in all, and the walk stops at
    /// <paramref name="maxItems"/> or the cursor's end. The synchronous cursors of StackExchange.Redis 1.2.6
    /// (IServer.Keys, IDatabase.HashScan) are not used: a blocked sync wait timed out on a busy machine where async
    /// commands did not.
    /// </summary>
    private async Task ScanAsync(Func<string, Task<RedisResult>> page, int maxItems, Func<RedisResult[], int> take, CancellationToken cancellationToken)
    {
        var cursor = "0";
        do
        {
            var reply = (RedisResult[])(await Bounded(page(cursor), cancellationToken))!;
            cursor = (string)reply[0]!;
            if (take((RedisResult[])reply[1]!) >= maxItems)
            {
                return;
            }
        }
        while (!string.Equals(cursor, "0", StringComparison.Ordinal));
    }

    public async Task<long> SortedSetLengthAsync(string key, CancellationToken cancellationToken)
    {
        await EnsureCheckedAsync(cancellationToken);
        return await Bounded(database.SortedSetLengthAsync(key, flags: PrimaryOnly), cancellationToken);
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Bounded(database.PingAsync(), cancellationToken);
            return true;
        }
        catch (StorageUnavailableException)
        {
            return false;
        }
    }

    public void Dispose() => multiplexer.Dispose();

    /// <summary>
    /// Has the client read the cluster's configuration again, once at a time. StackExchange.Redis 1.2.6 follows a MOVED
    /// answer for the one command, but keeps taking the promoted replica for a replica until its next configuration
    /// check (ConfigCheckSeconds, a minute): plain writes (HDEL of settled entries) fail with ProtocolFailure until then
    /// (StackExchange.Redis issues 282 and 1660). A MOVED answer is the cue to read the configuration now.
    /// </summary>
    private void RefreshTopology()
    {
        if (Interlocked.Exchange(ref refreshingTopology, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await multiplexer.ConfigureAsync();
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                LogTopologyRefreshFailed(logger, exception.Message);
            }
            finally
            {
                Volatile.Write(ref refreshingTopology, 0);
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the Redis Cluster configuration after a MOVED answer failed: {Reason}; the client's own check reads it later")]
    private static partial void LogTopologyRefreshFailed(ILogger logger, string reason);

    private async Task<T> Bounded<T>(Task<T> operation, CancellationToken cancellationToken)
    {
        try
        {
            return await operation.WaitAsync(timeout, cancellationToken);
        }
        catch (RedisTimeoutException exception)
        {
            throw new StorageUnavailableException("Redis timed out: " + exception.Message, exception);
        }
        catch (TimeoutException exception)
        {
            Observe(operation);
            throw new StorageUnavailableException($"Redis did not answer within {timeout.TotalMilliseconds} ms (Storage:RedisTimeoutMs)", exception);
        }
        catch (RedisConnectionException exception)
        {
            throw new StorageUnavailableException("Redis is unreachable: " + exception.Message, exception);
        }
        catch (RedisServerException exception) when (IsClusterInTransition(exception.Message))
        {
            throw new StorageUnavailableException("Redis Cluster is not serving the slot now: " + exception.Message, exception);
        }
    }

    /// <summary>
    /// The errors of a Redis Cluster that is changing hands, which a retry a moment later gets past: no primary for the
    /// slot (CLUSTERDOWN, while a replica is being elected), a slot half migrated (TRYAGAIN), a replica that lost its
    /// primary or a node still loading its data (MASTERDOWN, LOADING), a primary demoted to replica under a command sent to
    /// it (READONLY: a script fails at its first write, so it changed nothing), and the client's own "Endpoint ... serving
    /// hashslot N is not reachable" (StackExchange.Redis 1.2.6 raises it as a server error while the primary it knows
    /// for the slot is down and it has not yet learnt the replica that replaces it, and for a MOVED or ASK answer to a
    /// command sent with NoRedirect).
    /// </summary>
    private static bool IsClusterInTransition(string message) =>
        message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal) || message.StartsWith("TRYAGAIN", StringComparison.Ordinal)
        || message.StartsWith("MASTERDOWN", StringComparison.Ordinal) || message.StartsWith("LOADING", StringComparison.Ordinal)
        || message.StartsWith("READONLY", StringComparison.Ordinal)
        || (message.StartsWith("Endpoint ", StringComparison.Ordinal) && message.Contains(" is not reachable", StringComparison.Ordinal));

    // A command we stopped waiting for may still fail later; observe it so the failure is not rethrown elsewhere.
    private static void Observe(Task operation) =>
        _ = operation.ContinueWith(static task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private static RedisKey[] ToKeys(string[] keys)
    {
        var redisKeys = new RedisKey[keys.Length];
        for (var index = 0; index < keys.Length; index++)
        {
            redisKeys[index] = keys[index];
        }

        return redisKeys;
    }

    private static RedisValue[] ToValues(string[] values)
    {
        var redisValues = new RedisValue[values.Length];
        for (var index = 0; index < values.Length; index++)
        {
            redisValues[index] = values[index];
        }

        return redisValues;
    }

    private static string?[] Flatten(RedisResult result)
    {
        if (result.IsNull)
        {
            return [];
        }

        var items = (RedisResult[])result!;
        var texts = new string?[items.Length];
        for (var index = 0; index < items.Length; index++)
        {
            texts[index] = items[index].IsNull ? null : (string?)items[index];
        }

        return texts;
    }
}
