namespace CommsCredits.Gateway.BalanceWatch;

using System.Threading.Channels;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Grpc.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

/// <summary>One reading of a tenant's balance.</summary>
public sealed record BalanceReading(long BalanceMicros, long HeldMicros, DateTimeOffset ObservedAt);

/// <summary>
/// The watches of one gateway: one poll loop per watched tenant, shared by all its watchers, reads the balance every
/// BalanceWatch:IntervalMs (the same read as CheckBalance, which rebuilds a lost Redis state from the ledger) and hands
/// each change to every watcher. A watcher's queue holds one reading, the latest: a slow client is sent the newest
/// balance, never a growing backlog. The loop ends when its last watcher leaves. Changes made by any gateway are seen,
/// since they all share Redis. A read that fails (storage down) is tried again at the next interval.
/// </summary>
public sealed partial class BalanceWatchHub
{
    private readonly HotState hotState;
    private readonly TimeProvider timeProvider;
    private readonly ILogger<BalanceWatchHub> logger;
    private readonly TimeSpan interval;
    private readonly int maxWatchers;
    private readonly Lock gate = new();
    private readonly Dictionary<string, TenantLoop> loops = new(StringComparer.Ordinal);
    private int watchers;

    public BalanceWatchHub(HotState hotState, TimeProvider timeProvider, IOptions<BalanceWatchOptions> options, GatewayMetrics metrics, ILogger<BalanceWatchHub> logger)
    {
        this.hotState = hotState;
        this.timeProvider = timeProvider;
        this.logger = logger;
        interval = TimeSpan.FromMilliseconds(options.Value.IntervalMs);
        maxWatchers = options.Value.MaxWatchers;
        metrics.Registry.AddCollector(() =>
        {
            metrics.BalanceWatchers.Set(Watchers);
            metrics.BalanceWatchedTenants.Set(WatchedTenants);
        });
    }

    /// <summary>Watches open now.</summary>
    public int Watchers => Volatile.Read(ref watchers);

    /// <summary>Tenants whose balance is being polled now (one loop each, whatever their number of watchers).</summary>
    public int WatchedTenants
    {
        get
        {
            lock (gate)
            {
                return loops.Count;
            }
        }
    }

    /// <summary>Reads a tenant's balance now; null for a tenant the ledger does not know.</summary>
    public async Task<BalanceReading?> ReadAsync(string tenantId, CancellationToken cancellationToken)
    {
        var balance = await hotState.ReadBalanceAsync(tenantId, cancellationToken);
        return balance is { } value ? new BalanceReading(value.BalanceMicros, value.HeldMicros, timeProvider.GetUtcNow()) : null;
    }

    /// <summary>Joins the tenant's loop; dispose the subscription to leave. Beyond MaxWatchers: RESOURCE_EXHAUSTED.</summary>
    public Subscription Subscribe(string tenantId)
    {
        if (Interlocked.Increment(ref watchers) > maxWatchers)
        {
            Interlocked.Decrement(ref watchers);
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"too many balance watchers (BalanceWatch:MaxWatchers is {maxWatchers})"));
        }

        var queue = Channel.CreateBounded<BalanceReading>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (gate)
        {
            if (!loops.TryGetValue(tenantId, out var loop))
            {
                loop = new TenantLoop(tenantId);
                loops.Add(tenantId, loop);
                loop.Run = Task.Run(() => PollAsync(loop));
            }

            loop.Queues.Add(queue);
            if (loop.Latest is { } latest)
            {
                queue.Writer.TryWrite(latest);
            }

            return new Subscription(this, loop, queue);
        }
    }

    private void Leave(TenantLoop loop, Channel<BalanceReading> queue)
    {
        lock (gate)
        {
            loop.Queues.Remove(queue);
            if (loop.Queues.Count == 0)
            {
                loops.Remove(loop.TenantId);
                loop.Stopping.Cancel();
            }
        }

        Interlocked.Decrement(ref watchers);
    }

    private async Task PollAsync(TenantLoop loop)
    {
        var cancellationToken = loop.Stopping.Token;
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                await PollOnceAsync(loop, cancellationToken);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The last watcher left.
        }
        finally
        {
            loop.Stopping.Dispose();
        }
    }

    private async Task PollOnceAsync(TenantLoop loop, CancellationToken cancellationToken)
    {
        BalanceReading? reading;
        try
        {
            reading = await ReadAsync(loop.TenantId, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogReadFailed(logger, loop.TenantId, exception.Message);
            return;
        }

        if (reading is not { } value)
        {
            return;
        }

        lock (gate)
        {
            if (loop.Latest is { } latest && latest.BalanceMicros == value.BalanceMicros && latest.HeldMicros == value.HeldMicros)
            {
                return;
            }

            loop.Latest = value;
            foreach (var queue in loop.Queues)
            {
                queue.Writer.TryWrite(value);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read the balance of watched tenant {TenantId}; trying again at the next interval: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string tenantId, string reason);

    internal sealed class TenantLoop(string tenantId)
    {
        public string TenantId { get; } = tenantId;

        public List<Channel<BalanceReading>> Queues { get; } = [];

        public CancellationTokenSource Stopping { get; } = new();

        public BalanceReading? Latest { get; set; }

        public Task? Run { get; set; }
    }

    /// <summary>One watcher's place in its tenant's loop: the latest change not yet taken.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly BalanceWatchHub hub;
        private readonly TenantLoop loop;
        private readonly Channel<BalanceReading> queue;
        private int disposed;

        internal Subscription(BalanceWatchHub hub, TenantLoop loop, Channel<BalanceReading> queue) => (this.hub, this.loop, this.queue) = (hub, loop, queue);

        /// <summary>Waits for the next reading the loop saw change (the latest one if several came meanwhile).</summary>
        public ValueTask<BalanceReading> NextAsync(CancellationToken cancellationToken) => queue.Reader.ReadAsync(cancellationToken);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                hub.Leave(loop, queue);
            }
        }
    }
}
