namespace CommsCredits.Gateway.Metrics;

/// <summary>The children the settlement writer uses, looked up once; the queue depth is read at scrape time.</summary>
public sealed class SettlementMetrics
{
    public SettlementMetrics(GatewayMetrics metrics, Func<int> queueDepth)
    {
        var committed = metrics.SettlementBatches.WithLabels("committed");
        Split = metrics.SettlementBatches.WithLabels("split");
        Failed = metrics.SettlementBatches.WithLabels("failed");
        CommittedBatches = committed;
        BatchSize = metrics.SettlementBatchSize;
        BatchDuration = metrics.PostgresOperation("settlement_batch");
        var depth = metrics.SettlementQueueDepth.WithLabels(LabelValues.None);
        metrics.Registry.AddCollector(() => depth.Set(queueDepth()));
    }

    public Counter CommittedBatches { get; }

    public Counter Split { get; }

    public Counter Failed { get; }

    public Histogram BatchSize { get; }

    public Histogram BatchDuration { get; }

    public void Committed(int settlements)
    {
        CommittedBatches.Increment();
        BatchSize.Observe(settlements);
    }
}
