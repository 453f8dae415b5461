namespace CommsCredits.Gateway.Balances;

using System.Globalization;
using CommsCredits.Gateway.Storage;
using StackExchange.Redis;

/// <summary>
/// The primaries of the Redis the store talks to, for the two things that concern a server rather than one tenant: the
/// keyspace walk (SCAN, which sees only the keys of the node it runs on) and the incarnation check (each primary is a
/// process with its own identity). A single Redis is one primary holding every slot. In a Redis Cluster each primary
/// holds the keys of its slots, so a walk visits every one of them. A command reaches a chosen primary through a routing
/// key that hashes into a slot it owns, because StackExchange.Redis 1.2.6 sends keyless commands to any node and has no
/// asynchronous per-server command (IServer has no Execute; its SCAN cursor, IServer.Keys, is synchronous). The list of
/// primaries is asked of the cluster itself (CLUSTER NODES, in a script), not taken from the client's cached view, which
/// may be a failover behind.
/// </summary>
public sealed partial class RedisHotStore
{
    /// <summary>Hash slots of a Redis Cluster (CLUSTER KEYSLOT is CRC16 of the key, or of its {hash tag}, modulo this).</summary>
    public const int ClusterSlotCount = 16_384;

    /// <summary>Most nodes a CLUSTER NODES reply may list before the store refuses it (Redis advises at most 1,000).</summary>
    private const int MaxClusterNodes = 1_000;

    /// <summary>One page of SCAN on the primary that owns the slot of KEYS[1] (the routing key; the script never touches it).</summary>
    private const string ScanPageScript = "return redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])";

    /// <summary>The cluster's view of its nodes (CLUSTER NODES), or false on a Redis without cluster support.</summary>
    private const string TopologyScript =
        "if string.find(redis.call('INFO', 'cluster'), 'cluster_enabled:1', 1, true) then return redis.call('CLUSTER', 'NODES') end return false";

    /// <summary>For every slot, the smallest n whose key "cc:incarnation:{n}" hashes into it: a primary's marker and routing key.</summary>
    private static readonly Lazy<string[]> MarkerKeysBySlot = new(ComputeMarkerKeys);

    /// <summary>
    /// The incarnation marker of the primary that owns a slot, and the key that routes commands to that primary. It moves
    /// with its slot: a slot migration makes the new owner check its accounts once more, which drops none that are current.
    /// </summary>
    public static string ClusterMarkerKey(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, ClusterSlotCount);
        return MarkerKeysBySlot.Value[slot];
    }

    /// <summary>The Redis Cluster hash slot of a key: CRC16 (XMODEM) of its hash tag when it has a non-empty one, else of the whole key.</summary>
    public static int ClusterSlot(string key)
    {
        var start = key.IndexOf('{', StringComparison.Ordinal);
        if (start >= 0)
        {
            var end = key.IndexOf('}', start + 1);
            if (end > start + 1)
            {
                key = key[(start + 1)..end];
            }
        }

        ushort crc = 0;
        foreach (var character in System.Text.Encoding.UTF8.GetBytes(key))
        {
            crc ^= (ushort)(character << 8);
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }

        return crc % ClusterSlotCount;
    }

    /// <summary>
    /// The primaries serving now: the single server, or every cluster primary that is up and owns slots. A cluster whose
    /// slots are not all owned by such a primary (a failover in progress, a shard down) is unavailable: a check or walk
    /// that skipped the missing slots would pass over the very node that most needs checking.
    /// </summary>
    private async Task<IReadOnlyList<Primary>> PrimariesAsync(CancellationToken cancellationToken)
    {
        var reply = await Bounded(database.ScriptEvaluateAsync(TopologyScript, [IncarnationKey], flags: PrimaryOnly), cancellationToken);
        if (reply.IsNull)
        {
            return [new Primary("the Redis server", IncarnationKey)];
        }

        var primaries = new List<Primary>();
        var slotsOwned = 0;
        var lines = ((string)reply!).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length > MaxClusterNodes)
        {
            throw new StorageUnavailableException($"Redis Cluster lists {lines.Length} nodes, more than the {MaxClusterNodes} the store accepts");
        }

        foreach (var line in lines)
        {
            var (slots, firstSlot) = ServingPrimarySlots(line.Split(' '));
            if (slots > 0)
            {
                primaries.Add(new Primary(line.Split(' ')[1], ClusterMarkerKey(firstSlot)));
                slotsOwned += slots;
            }
        }

        if (slotsOwned != ClusterSlotCount)
        {
            throw new StorageUnavailableException(string.Create(
                CultureInfo.InvariantCulture, $"Redis Cluster: only {slotsOwned} of {ClusterSlotCount} slots have a primary that is up (a failover in progress, or a shard down)"));
        }

        return primaries;
    }

    /// <summary>
    /// How many slots a CLUSTER NODES line's node serves as a primary that is up, and the first of them; (0, 0) for a
    /// replica, a failed or suspected node (flags fail or fail?), or a primary without slots. Fields: id, address, flags,
    /// primary id, ping sent, pong received, config epoch, link state, then slots ("0-5460", "5461", or "[slot-&gt;-id]" for a
    /// migration, which the slot's owner counts already).
    /// </summary>
    private static (int Slots, int FirstSlot) ServingPrimarySlots(string[] fields)
    {
        if (fields.Length < 9 || !fields[2].Contains("master", StringComparison.Ordinal) || fields[2].Contains("fail", StringComparison.Ordinal) ||
            !string.Equals(fields[7], "connected", StringComparison.Ordinal))
        {
            return (0, 0);
        }

        var (slots, firstSlot) = (0, ClusterSlotCount);
        for (var index = 8; index < fields.Length; index++)
        {
            if (fields[index].StartsWith('['))
            {
                continue;
            }

            var range = fields[index].Split('-');
            var from = int.Parse(range[0], CultureInfo.InvariantCulture);
            var to = range.Length == 2 ? int.Parse(range[1], CultureInfo.InvariantCulture) : from;
            if (from < 0 || to < from || to >= ClusterSlotCount)
            {
                throw new StorageUnavailableException("Redis Cluster: CLUSTER NODES lists a slot range that is out of bounds: " + fields[index]);
            }

            slots += to - from + 1;
            firstSlot = Math.Min(firstSlot, from);
        }

        return slots > 0 ? (slots, firstSlot) : (0, 0);
    }

    /// <summary>Up to <paramref name="maxKeys"/> keys matching a pattern on one primary, read in bounded pages.</summary>
    private async Task<List<string>> ScanPrimaryAsync(Primary primary, string pattern, int maxKeys, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        RedisKey[] routing = [primary.MarkerKey];
        await ScanAsync(
            cursor => database.ScriptEvaluateAsync(ScanPageScript, routing, [cursor, pattern, ScanPageSize], PrimaryOnly),
            maxKeys,
            items =>
            {
                for (var index = 0; index < items.Length && keys.Count < maxKeys; index++)
                {
                    keys.Add((string)items[index]!);
                }

                return keys.Count;
            },
            cancellationToken);
        return keys;
    }

    private static string[] ComputeMarkerKeys()
    {
        // About 170,000 CRC16s (the coupon collector's bound for 16,384 slots), once per process; bounded all the same.
        const int maxCandidates = 10_000_000;
        var keys = new string?[ClusterSlotCount];
        var missing = ClusterSlotCount;
        for (var candidate = 0; missing > 0 && candidate < maxCandidates; candidate++)
        {
            var key = string.Concat(IncarnationKey, ":{", candidate.ToString(CultureInfo.InvariantCulture), "}");
            var slot = ClusterSlot(key);
            if (keys[slot] is null)
            {
                keys[slot] = key;
                missing--;
            }
        }

        if (missing > 0)
        {
            throw new InvalidOperationException($"no marker key found for {missing} cluster slots");
        }

        return keys!;
    }

    /// <summary>A primary: how to name it in logs, and its marker key, which also routes commands to it.</summary>
    private readonly record struct Primary(string Name, string MarkerKey);
}
