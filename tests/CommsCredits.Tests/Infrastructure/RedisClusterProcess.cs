using System.Globalization;
using CommsCredits.Tests.Infrastructure.Internal;

namespace CommsCredits.Tests.Infrastructure;

/// <summary>
/// A Redis Cluster of our own: redis-server processes in cluster mode on free loopback ports (each a
/// <see cref="RedisServerProcess"/>, so they are stopped and deleted like any other), joined by
/// <c>redis-cli --cluster create</c>, and returned once every running node agrees on who serves which slots and every
/// replica is in sync. Nodes time out after a second, so a failover takes a few seconds, not the default fifteen.
/// </summary>
public sealed class RedisClusterProcess : IAsyncDisposable
{
    private const string Host = "127.0.0.1";
    private const int NodeTimeoutMs = 1_000;
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SettlePollInterval = TimeSpan.FromMilliseconds(100);

    private readonly string redisCli;

    private RedisClusterProcess(IReadOnlyList<RedisServerProcess> nodes, string redisCli)
    {
        Nodes = nodes;
        this.redisCli = redisCli;
    }

    /// <summary>Every node, primaries and replicas as <c>redis-cli --cluster create</c> chose them at the start.</summary>
    public IReadOnlyList<RedisServerProcess> Nodes { get; }

    /// <summary>A StackExchange.Redis configuration string listing every node, from which the client discovers the cluster.</summary>
    public string Configuration => string.Join(',', Nodes.Select(node => node.Configuration));

    /// <summary>Starts <paramref name="primaryCount"/> primaries, each with <paramref name="replicasPerPrimary"/> replicas.</summary>
    public static async Task<RedisClusterProcess> StartAsync(int primaryCount, int replicasPerPrimary, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(primaryCount, 3); // redis-cli refuses fewer
        var cli = ServerBinaries.FindOnPath("redis-cli") ?? throw new InvalidOperationException("redis-cli was not found on PATH (Debian package redis-tools)");
        var starts = Enumerable.Range(0, primaryCount * (1 + replicasPerPrimary))
            .Select(_ => RedisServerProcess.StartAsync(NodeArguments(FreePorts.Pick()), cancellationToken))
            .ToList();
        try
        {
            await Task.WhenAll(starts);
        }
        catch
        {
            await DisposeStartedAsync(starts);
            throw;
        }

        var cluster = new RedisClusterProcess([.. starts.Select(start => start.Result)], cli);
        try
        {
            await ProcessRunner.RunAsync(
                cli,
                ["--cluster", "create", .. cluster.Nodes.Select(node => node.Configuration), "--cluster-replicas", replicasPerPrimary.ToString(CultureInfo.InvariantCulture), "--cluster-yes"],
                Path.GetTempPath(),
                cancellationToken);
            await cluster.WaitUntilSettledAsync(cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs one redis-cli command on one node and returns its reply as redis-cli prints it.</summary>
    public Task<string> CommandAsync(RedisServerProcess node, params string[] arguments) =>
        ProcessRunner.RunForOutputAsync(redisCli, ["-h", Host, "-p", node.Port.ToString(CultureInfo.InvariantCulture), .. arguments], Path.GetTempPath(), CancellationToken.None);

    /// <summary>The running node that serves <paramref name="slot"/> as a primary, as the cluster says now.</summary>
    public async Task<RedisServerProcess> PrimaryOfSlotAsync(int slot)
    {
        foreach (var node in await RunningNodesAsync())
        {
            var role = await CommandAsync(node, "cluster", "myid");
            var line = (await CommandAsync(node, "cluster", "nodes")).Split('\n').Single(line => line.StartsWith(role.Trim(), StringComparison.Ordinal));
            if (line.Contains("master", StringComparison.Ordinal) && ServesSlot(line, slot))
            {
                return node;
            }
        }

        throw new InvalidOperationException("no running primary serves slot " + slot.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Moves one slot, with its keys, to another primary while clients keep using it, as <c>redis-cli --cluster
    /// reshard</c> does slot by slot: the target imports, the source migrates (a command for a key already moved gets ASK,
    /// one touching keys on both sides TRYAGAIN), the keys go over by MIGRATE in batches, then every primary is told the
    /// slot's new owner (the clients' next command there gets MOVED).
    /// </summary>
    public async Task MigrateSlotAsync(int slot, RedisServerProcess target)
    {
        const int maxBatches = 10_000;
        var slotText = slot.ToString(CultureInfo.InvariantCulture);
        var source = await PrimaryOfSlotAsync(slot);
        var sourceId = (await CommandAsync(source, "cluster", "myid")).Trim();
        var targetId = (await CommandAsync(target, "cluster", "myid")).Trim();
        // redis-cli exits 0 on an error reply: every reply is checked.
        await ExpectOkAsync(target, "cluster", "setslot", slotText, "importing", sourceId);
        await ExpectOkAsync(source, "cluster", "setslot", slotText, "migrating", targetId);
        var moved = 0;
        for (var batch = 0; batch < maxBatches; batch++)
        {
            var keys = (await CommandAsync(source, "cluster", "getkeysinslot", slotText, "100")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (keys.Length == 0)
            {
                break;
            }

            await ExpectOkAsync(source, ["migrate", Host, target.Port.ToString(CultureInfo.InvariantCulture), string.Empty, "0", "5000", "KEYS", .. keys]);
            moved += keys.Length;
        }

        await ExpectOkAsync(target, "cluster", "setslot", slotText, "node", targetId);
        await ExpectOkAsync(source, "cluster", "setslot", slotText, "node", targetId);
        // Under load keys also go on their own (a hash emptied by its last HDEL), so the count that arrived may be lower.
        var arrived = int.Parse((await CommandAsync(target, "cluster", "countkeysinslot", slotText)).Trim(), CultureInfo.InvariantCulture);
        if (moved > 0 && arrived == 0)
        {
            throw new InvalidOperationException($"slot {slotText}: {moved} keys migrated from {source.Port}, {arrived} arrived at {target.Port}");
        }

        await WaitUntilSettledAsync();
    }

    /// <summary>Runs a command that must answer OK (or NOKEY, for a MIGRATE whose keys went meanwhile).</summary>
    private async Task ExpectOkAsync(RedisServerProcess node, params string[] arguments)
    {
        var reply = (await CommandAsync(node, arguments)).Trim();
        if (!string.Equals(reply, "OK", StringComparison.Ordinal) && !string.Equals(reply, "NOKEY", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"`{string.Join(' ', arguments)}` on {node.Port.ToString(CultureInfo.InvariantCulture)} answered: {reply}");
        }
    }

    /// <summary>The running replicas of a primary.</summary>
    public async Task<IReadOnlyList<RedisServerProcess>> ReplicasOfAsync(RedisServerProcess primary)
    {
        var primaryId = (await CommandAsync(primary, "cluster", "myid")).Trim();
        var replicas = new List<RedisServerProcess>();
        foreach (var node in await RunningNodesAsync())
        {
            if ((await CommandAsync(node, "info", "replication")).Contains("role:slave", StringComparison.Ordinal)
                && (await CommandAsync(node, "cluster", "nodes")).Split('\n').Any(line => line.Contains("myself,slave " + primaryId, StringComparison.Ordinal)))
            {
                replicas.Add(node);
            }
        }

        return replicas;
    }

    /// <summary>
    /// Waits until every running node says cluster_state:ok, they all list the same primaries (not failed) with the
    /// same slots, and every running replica's link to its primary is up and not syncing.
    /// </summary>
    public async Task WaitUntilSettledAsync(CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + SettleTimeout;
        var last = "nothing asked yet";
        while (true)
        {
            try
            {
                last = await UnsettledReasonAsync();
                if (last.Length == 0)
                {
                    return;
                }
            }
            catch (InvalidOperationException exception)
            {
                last = exception.Message;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The Redis Cluster did not settle within " + SettleTimeout + ": " + last);
            }

            await Task.Delay(SettlePollInterval, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }

    private async Task<string> UnsettledReasonAsync()
    {
        string? primaries = null;
        foreach (var node in await RunningNodesAsync())
        {
            if (!(await CommandAsync(node, "cluster", "info")).Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                return node.Configuration + " is not cluster_state:ok";
            }

            var view = string.Join(';', (await CommandAsync(node, "cluster", "nodes")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' '))
                .Where(fields => fields.Length > 8 && fields[2].Contains("master", StringComparison.Ordinal) && !fields[2].Contains("fail", StringComparison.Ordinal))
                .Select(fields => fields[0] + " " + string.Join(' ', fields[8..]))
                .Order(StringComparer.Ordinal));
            if (primaries is not null && !string.Equals(view, primaries, StringComparison.Ordinal))
            {
                return node.Configuration + " sees other primaries than its peers: " + view + " / " + primaries;
            }

            primaries = view;
            var replication = await CommandAsync(node, "info", "replication");
            if (replication.Contains("role:slave", StringComparison.Ordinal)
                && (!replication.Contains("master_link_status:up", StringComparison.Ordinal) || replication.Contains("master_sync_in_progress:1", StringComparison.Ordinal)))
            {
                return node.Configuration + " is a replica not in sync yet";
            }
        }

        return string.Empty;
    }

    private async Task<IReadOnlyList<RedisServerProcess>> RunningNodesAsync()
    {
        var running = new List<RedisServerProcess>();
        foreach (var node in Nodes)
        {
            if (node.ProcessId is not null && await ReadinessProbes.RedisAnswersPingAsync(Host, node.Port, CancellationToken.None))
            {
                running.Add(node);
            }
        }

        return running;
    }

    private static bool ServesSlot(string line, int slot) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(8).Where(range => !range.StartsWith('[')).Any(range =>
        {
            var bounds = range.Split('-');
            var from = int.Parse(bounds[0], CultureInfo.InvariantCulture);
            var to = bounds.Length == 2 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : from;
            return slot >= from && slot <= to;
        });

    /// <summary>Cluster mode, with the cluster bus on a free port of its own (port + 10000 may be out of range or taken).</summary>
    private static string[] NodeArguments(int busPort) =>
    [
        "--cluster-enabled", "yes",
        "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", NodeTimeoutMs.ToString(CultureInfo.InvariantCulture),
        "--cluster-port", busPort.ToString(CultureInfo.InvariantCulture),
        // A replica may take over even when it lost touch with its primary a while ago: the failover tests want one.
        "--cluster-replica-validity-factor", "0",
    ];

    private static async Task DisposeStartedAsync(IEnumerable<Task<RedisServerProcess>> starts)
    {
        foreach (var start in starts.Where(start => start.IsCompletedSuccessfully))
        {
            await start.Result.DisposeAsync();
        }
    }
}
