namespace CommsCredits.Gateway.Ledger;

using System.Diagnostics;
using System.Threading.Channels;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Makes settlements durable with group commit: concurrent requests queue their settlements, a few writers take
/// them in batches (at most Settlement:MaxBatchSize) and write each batch in one transaction, and every request
/// learns its outcome when that transaction has committed. A request acknowledges its client only after that.
/// Once committed, the settlements are removed from the tenant's pending hash in Redis; if that removal is lost, the
/// sweeper writes them again, which changes nothing (the ledger keys are the operation numbers).
/// </summary>
public sealed partial class SettlementWriter : BackgroundService
{
    private readonly Channel<QueuedSettlement> queue;
    private readonly LedgerBatchStore store;
    private readonly IHotStore hotStore;
    private readonly SettlementOptions options;
    private readonly ILogger<SettlementWriter> logger;
    private readonly TimeProvider timeProvider;
    private volatile bool stopping;
    private readonly SettlementMetrics? metrics;

    /// <summary>When the ledger's current run of failed batches began (UTC ticks), or 0 while batches commit.</summary>
    private long failingSinceTicks;

    /// <summary>When a writer last found the ledger too slow to wait for (UTC ticks), or 0 once a batch has committed since.</summary>
    private long slowSinceTicks;

    public SettlementWriter(LedgerBatchStore store, IHotStore hotStore, IOptions<SettlementOptions> options, TimeProvider timeProvider, ILogger<SettlementWriter> logger,
        GatewayMetrics? gatewayMetrics = null)
    {
        this.store = store;
        this.hotStore = hotStore;
        this.options = options.Value;
        this.timeProvider = timeProvider;
        this.logger = logger;
        queue = Channel.CreateBounded<QueuedSettlement>(new BoundedChannelOptions(this.options.MaxQueueLength)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        metrics = gatewayMetrics is null ? null : new SettlementMetrics(gatewayMetrics, () => queue.Reader.Count);
    }

    private long batchesCommitted;
    private long settlementsCommitted;

    /// <summary>Settlements waiting for a writer now.</summary>
    public int QueueLength => queue.Reader.Count;

    /// <summary>Transactions committed since start.</summary>
    public long BatchesCommitted => Interlocked.Read(ref batchesCommitted);

    /// <summary>Settlements in those transactions (their ratio is the mean batch size).</summary>
    public long SettlementsCommitted => Interlocked.Read(ref settlementsCommitted);

    /// <summary>
    /// How long batches have been failing without one committing (zero while the ledger takes them). A ledger that
    /// fails for longer than Settlement:MaxLedgerOutageSeconds stops new calls: see <see cref="RefuseNewCallsIfLedgerDown"/>.
    /// </summary>
    public TimeSpan LedgerFailingFor
    {
        get
        {
            var since = Interlocked.Read(ref failingSinceTicks);
            return since == 0 ? TimeSpan.Zero : timeProvider.GetUtcNow() - new DateTimeOffset(since, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Throws <see cref="StorageUnavailableException"/> when the ledger has been failing for longer than
    /// Settlement:MaxLedgerOutageSeconds: new calls are then refused, so that calls whose debits cannot be made durable
    /// do not pile up. Calls in progress go on (their debits wait in Redis, unacknowledged, for the ledger).
    /// </summary>
    public void RefuseNewCallsIfLedgerDown()
    {
        var failing = LedgerFailingFor;
        if (failing > TimeSpan.FromSeconds(options.MaxLedgerOutageSeconds))
        {
            throw new StorageUnavailableException(
                $"the ledger (PostgreSQL) has failed for {(long)failing.TotalSeconds} s, longer than Settlement:MaxLedgerOutageSeconds ({options.MaxLedgerOutageSeconds} s); new calls are refused until it is back");
        }
    }

    /// <summary>
    /// Whether the ledger is taking batches as they come: none has failed, and nobody found it too slow to wait for,
    /// since the last commit. While it is not, Reserve does not wait for a session's opening to be durable.
    /// </summary>
    public bool IsKeepingUp => Interlocked.Read(ref failingSinceTicks) == 0 && Interlocked.Read(ref slowSinceTicks) == 0;

    /// <summary>Records that a settlement was not committed within the time a caller could wait; the next commit clears it.</summary>
    public void NoteSlowLedger() => Interlocked.CompareExchange(ref slowSinceTicks, timeProvider.GetUtcNow().UtcTicks, 0);

    /// <summary>
    /// Queues a settlement and waits until the ledger has taken it. Cancelling stops the wait, not the write: a
    /// settlement that was queued is written.
    /// </summary>
    public Task<SettlementOutcome> WriteAsync(Settlement settlement, CancellationToken cancellationToken)
    {
        var queued = new QueuedSettlement(settlement);
        if (!queue.Writer.TryWrite(queued))
        {
            throw new StorageUnavailableException(stopping
                ? "the gateway is shutting down and takes no new settlements"
                : $"the ledger queue is full ({options.MaxQueueLength} settlements, Settlement:MaxQueueLength); PostgreSQL is not keeping up");
        }

        return queued.Completion.Task.WaitAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var writers = new Task[options.WriterCount];
        for (var index = 0; index < writers.Length; index++)
        {
            writers[index] = RunWriterAsync(stoppingToken);
        }

        return Task.WhenAll(writers);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Refuse new settlements, let the writers drain what is queued, then stop them.
        stopping = true;
        queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private async Task RunWriterAsync(CancellationToken stoppingToken)
    {
        var batch = new List<QueuedSettlement>(options.MaxBatchSize);
        // The loop ends when the queue is completed and drained; stoppingToken only bounds the waits inside a batch.
        while (await queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            await FillBatchAsync(batch, stoppingToken);
            if (batch.Count > 0)
            {
                await WriteBatchAsync(batch);
            }
        }
    }

    private async Task FillBatchAsync(List<QueuedSettlement> batch, CancellationToken stoppingToken)
    {
        while (batch.Count < options.MaxBatchSize && queue.Reader.TryRead(out var item))
        {
            batch.Add(item);
        }

        if (options.MaxBatchWaitMs == 0 || batch.Count == 0 || batch.Count >= options.MaxBatchSize)
        {
            return;
        }

        using var linger = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        linger.CancelAfter(options.MaxBatchWaitMs);
        try
        {
            while (batch.Count < options.MaxBatchSize && await queue.Reader.WaitToReadAsync(linger.Token))
            {
                while (batch.Count < options.MaxBatchSize && queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The wait is over; write what we have.
        }
    }

    private async Task WriteBatchAsync(List<QueuedSettlement> batch)
    {
        var settlements = new Settlement[batch.Count];
        for (var index = 0; index < batch.Count; index++)
        {
            settlements[index] = batch[index].Settlement;
        }

        IReadOnlyList<SettlementOutcome> outcomes;
        try
        {
            outcomes = await WriteWithRetriesAsync(settlements);
        }
        catch (PostgresException exception) when (batch.Count > 1 && !IsTransient(exception))
        {
            // One settlement the ledger refuses (a constraint) must not take the others down with it: write them one
            // by one so that only the bad one fails.
            LogBatchSplit(logger, exception, batch.Count);
            metrics?.Split.Increment();
            foreach (var item in batch)
            {
                await WriteBatchAsync([item]);
            }

            return;
        }
#pragma warning disable CA1031 // A writer must outlive any failure: every request of the batch gets it, the loop goes on.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            LogBatchFailed(logger, exception, batch.Count);
            metrics?.Failed.Increment();
            if (IsTransient(exception))
            {
                // The ledger could not be reached (or did not answer in time). A settlement it refused (a constraint)
                // says the ledger is up: that must not stop new calls.
                Interlocked.CompareExchange(ref failingSinceTicks, timeProvider.GetUtcNow().UtcTicks, 0);
            }

            var failure = new StorageUnavailableException("the ledger could not be written: " + exception.Message, exception);
            foreach (var item in batch)
            {
                item.Completion.TrySetException(failure);
            }

            return;
        }

        Interlocked.Exchange(ref failingSinceTicks, 0);
        Interlocked.Exchange(ref slowSinceTicks, 0);
        Interlocked.Increment(ref batchesCommitted);
        Interlocked.Add(ref settlementsCommitted, batch.Count);
        metrics?.Committed(batch.Count);
        for (var index = 0; index < batch.Count; index++)
        {
            batch[index].Completion.TrySetResult(outcomes[index]);
        }

        await ForgetPendingAsync(settlements, outcomes);
    }

    private async Task<IReadOnlyList<SettlementOutcome>> WriteWithRetriesAsync(Settlement[] settlements)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var timeout = new CancellationTokenSource(options.CommitTimeoutMs);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    return await store.WriteBatchAsync(settlements, timeout.Token);
                }
                finally
                {
                    metrics?.BatchDuration.ObserveSince(started);
                }
            }
            catch (Exception exception) when (attempt < options.MaxAttempts && IsTransient(exception))
            {
                LogBatchRetry(logger, exception, attempt, settlements.Length);
                // Bounded backoff with jitter: 20 ms, 40 ms, ... so that several writers do not retry in step.
                await Task.Delay(TimeSpan.FromMilliseconds((20 << (attempt - 1)) + Random.Shared.Next(10)));
            }
        }
    }

    private static bool IsTransient(Exception exception) => exception switch
    {
        NpgsqlException npgsql => npgsql.IsTransient || npgsql is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure },
        OperationCanceledException or TimeoutException => true,
        _ => false,
    };

    private async Task ForgetPendingAsync(Settlement[] settlements, IReadOnlyList<SettlementOutcome> outcomes)
    {
        // Committed settlements leave the pending hash; stale ones stay until their tenant's state is rebuilt, which
        // drops the whole hash (load_account.lua).
        var byTenant = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var index = 0; index < settlements.Length; index++)
        {
            if (outcomes[index] != SettlementOutcome.Committed)
            {
                continue;
            }

            var settlement = settlements[index];
            if (!byTenant.TryGetValue(settlement.TenantId, out var fields))
            {
                fields = [];
                byTenant[settlement.TenantId] = fields;
            }

            fields.Add(settlement.OperationNumber.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var (tenantId, fields) in byTenant)
        {
            try
            {
                await hotStore.DeleteHashFieldsAsync(HotStateKeys.Pending(tenantId), [.. fields], CancellationToken.None);
            }
            catch (StorageUnavailableException exception)
            {
                // The sweeper will find them, write them again (a no-op) and remove them.
                LogForgetFailed(logger, exception, tenantId, fields.Count);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A ledger batch of {Count} settlements failed; its requests were not acknowledged")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "The ledger refused a batch of {Count} settlements; writing them one by one")]
    private static partial void LogBatchSplit(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger batch attempt {Attempt} of {Count} settlements failed; retrying")]
    private static partial void LogBatchRetry(ILogger logger, Exception exception, int attempt, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove {Count} settled entries of tenant {TenantId} from Redis; the sweeper will")]
    private static partial void LogForgetFailed(ILogger logger, Exception exception, string tenantId, int count);

    private sealed class QueuedSettlement(Settlement settlement)
    {
        public Settlement Settlement { get; } = settlement;

        public TaskCompletionSource<SettlementOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
