namespace CommsCredits.Gateway.Balances;

using System.Diagnostics;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

/// <summary>
/// <see cref="IHotStore"/> on StackExchange.Redis 1.2.6 (the version that restores here; see STACK.md). Scripts run by
/// EVALSHA, falling back to EVAL when the server has forgotten them (a restart empties its script cache). Every call
/// is bounded by Storage:RedisTimeoutMs; a timeout or connection failure becomes <see cref="StorageUnavailableException"/>.
/// After a connection failure, no command runs before the incarnation check (RedisHotStore.Incarnation.cs).
/// </summary>
public sealed partial class RedisHotStore : IHotStore, IDisposable
{
    private const int ScanPageSize = 500;
    private readonly ConnectionMultiplexer multiplexer;
    private readonly IDatabase database;
    private readonly TimeSpan timeout;
    private readonly ILogger<RedisHotStore> logger;

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
        // The server may come back as another process, with state it brought back from disk: check before the next command.
        multiplexer.ConnectionFailed += (_, _) => incarnation = null;
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
            result = await Bounded(database.ScriptEvaluateAsync(hotScript.Sha1, redisKeys, values), cancellationToken);
        }
        catch (RedisServerException exception) when (exception.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            result = await Bounded(database.ScriptEvaluateAsync(hotScript.Text, redisKeys, values), cancellationToken);
        }
        finally
        {
            scriptDurations[(int)script]?.ObserveSince(started);
        }

        return Flatten(result);
    }

    public async Task<string?[]> ReadHashAsync(string key, string[] fields, CancellationToken cancellationToken)
    {
        await EnsureCheckedAsync(cancellationToken);
        var names = ToValues(fields);
        var values = await Bounded(database.HashGetAsync(key, names), cancellationToken);
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
        await ScanAsync("HSCAN", key, null, maxEntries, items =>
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
        await Bounded(database.HashDeleteAsync(key, ToValues(fields)), cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ScanKeysAsync(string pattern, int maxKeys, CancellationToken cancellationToken)
    {
        await EnsureCheckedAsync(cancellationToken);
        return await ScanUncheckedAsync(pattern, maxKeys, cancellationToken);
    }

    private async Task<IReadOnlyList<string>> ScanUncheckedAsync(string pattern, int maxKeys, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await ScanAsync("SCAN", null, pattern, maxKeys, items =>
        {
            for (var index = 0; index < items.Length && keys.Count < maxKeys; index++)
            {
                keys.Add((string)items[index]!);
            }

            return keys.Count;
        }, cancellationToken);
        return keys;
    }

    /// <summary>
    /// Walks a SCAN-family cursor (SCAN, or HSCAN of <paramref name="key"/>) one page at a time, each page an async
    /// command bounded by Storage:RedisTimeoutMs like any other; <paramref name="take"/> consumes a page's items and
    /// returns how many it holds in all, and the walk stops at <paramref name="maxItems"/> or the cursor's end.
    /// The synchronous cursors of StackExchange.Redis 1.2.6 (IServer.Keys, IDatabase.HashScan) are not used: a blocked
    /// sync wait timed out on a busy machine where async commands did not.
    /// </summary>
    private async Task ScanAsync(string command, string? key, string? pattern, int maxItems, Func<RedisResult[], int> take, CancellationToken cancellationToken)
    {
        var cursor = "0";
        do
        {
            var arguments = new List<object>(6);
            if (key is not null)
            {
                arguments.Add((RedisKey)key);
            }

            arguments.Add(cursor);
            if (pattern is not null)
            {
                arguments.Add("MATCH");
                arguments.Add(pattern);
            }

            arguments.Add("COUNT");
            arguments.Add(ScanPageSize);
            var reply = (RedisResult[])(await Bounded(database.ExecuteAsync(command, arguments.ToArray()), cancellationToken))!;
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
        return await Bounded(database.SortedSetLengthAsync(key), cancellationToken);
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
    }

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
