namespace CommsCredits.Gateway.Metrics;

using System.Text;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;

/// <summary>
/// Every metric the gateway exposes (docs/operations.md lists them), created once per process in one registry. Label
/// values come from fixed lists; code on a hot path keeps the children it uses instead of looking them up per call.
/// </summary>
public sealed class GatewayMetrics
{
    public GatewayMetrics()
    {
        var latency = MetricLimits.LatencyBucketsSeconds;
        GrpcRequests = Registry.Counter(
            "commscredits_grpc_requests_total", "gRPC requests answered, by full method name (\"unknown\" for paths that are not ours) and gRPC status.", "method", "code");
        GrpcRequestDuration = Registry.Histogram(
            "commscredits_grpc_request_duration_seconds", "Time from a gRPC request's arrival to its status, by full method name.", latency, "method");
        ChargingAnswers = Registry.Counter(
            "commscredits_charging_answers_total", "Charging answers by RPC and Diameter result code (2001 success, 4010, 4012, 5002, 5030, 5031).", "method", "result_code");
        GrantsDenied = Registry.Counter(
            "commscredits_grants_denied_total", "Reserve, Update and Debit requests that were not granted, by reason.", "reason");
        SessionsActive = Registry.Gauge(
            "commscredits_sessions_active",
            "Open charging sessions over all tenants, from Redis, refreshed every Operations:GaugeRefreshSeconds (15 s by default) for up to Operations:MaxTenantsPerGaugeRefresh tenants.")
            .WithLabels(LabelValues.None);
        HeldMicros = Registry.Gauge(
            "commscredits_held_micros",
            "Money held by open sessions, summed over the tenants of each account currency, in micro-units of that currency, from Redis, refreshed every Operations:GaugeRefreshSeconds (15 s by default) for up to Operations:MaxTenantsPerGaugeRefresh tenants.",
            "currency");
        RedisOperationDuration = Registry.Histogram(
            "commscredits_redis_operation_duration_seconds", "Redis round trips of the hot state, by script (or command) name, failures included.", latency, "operation");
        PostgresOperationDuration = Registry.Histogram(
            "commscredits_postgres_operation_duration_seconds", "PostgreSQL operations of the ledger, by operation, failures included.", latency, "operation");
        SettlementBatchSize = Registry.Histogram(
            "commscredits_settlement_batch_size", "Settlements per ledger batch committed.", [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
            .WithLabels(LabelValues.None);
        SettlementQueueDepth = Registry.Gauge("commscredits_settlement_queue_depth", "Settlements waiting for a ledger writer, read at scrape time.");
        SettlementBatches = Registry.Counter(
            "commscredits_settlement_batches_total", "Ledger batches by outcome: committed, split (one refused settlement made it be written one by one), failed.", "outcome");
        RechargeAttempts = Registry.Counter(
            "commscredits_recharge_attempts_total", "Auto-recharge requests worked on, by outcome: funded, declined, unknown (asked about before the next try), gave_up, error.", "outcome");
        Notifications = Registry.Counter(
            "commscredits_notifications_total", "Notification delivery attempts by channel (webhook, email) and outcome: delivered, retry, dead.", "channel", "outcome");
        SupervisionClosures = Registry.Counter(
            "commscredits_supervision_closures_total", "Sessions closed by the session supervisor (nothing heard within validity plus grace), by policy.", "policy");
        BalanceWatchers = Registry.Gauge("commscredits_balance_watchers", "Balances/Watch streams open on this gateway, read at scrape time (at most BalanceWatch:MaxWatchers).")
            .WithLabels(LabelValues.None);
        BalanceWatchedTenants = Registry.Gauge("commscredits_balance_watched_tenants", "Tenants whose balance this gateway polls for its watchers (one loop each), read at scrape time.")
            .WithLabels(LabelValues.None);
        ProcessMetrics.Register(Registry);
    }

    public MetricsRegistry Registry { get; } = new();

    public CounterFamily GrpcRequests { get; }

    public HistogramFamily GrpcRequestDuration { get; }

    public CounterFamily ChargingAnswers { get; }

    public CounterFamily GrantsDenied { get; }

    public Gauge SessionsActive { get; }

    public GaugeFamily HeldMicros { get; }

    public HistogramFamily RedisOperationDuration { get; }

    public HistogramFamily PostgresOperationDuration { get; }

    public Histogram SettlementBatchSize { get; }

    public GaugeFamily SettlementQueueDepth { get; }

    public CounterFamily SettlementBatches { get; }

    public CounterFamily RechargeAttempts { get; }

    public CounterFamily Notifications { get; }

    public CounterFamily SupervisionClosures { get; }

    public Gauge BalanceWatchers { get; }

    public Gauge BalanceWatchedTenants { get; }

    /// <summary>The Redis duration histogram of every script, indexed by <see cref="HotScriptName"/>, labelled with the script's file name (reserve, usage, ...).</summary>
    public Histogram?[] ScriptDurations()
    {
        var names = Enum.GetValues<HotScriptName>();
        var histograms = new Histogram?[names.Length];
        foreach (var name in names)
        {
            histograms[(int)name] = RedisOperationDuration.WithLabels(SnakeCase(name.ToString()));
        }

        return histograms;
    }

    /// <summary>The histogram of one PostgreSQL operation (settlement_batch, rebuild, journal_purge), for its caller to keep.</summary>
    public Histogram PostgresOperation(string operation) => PostgresOperationDuration.WithLabels(operation);

    /// <summary>"LoadAccount" as "load_account".</summary>
    public static string SnakeCase(string name)
    {
        var output = new StringBuilder(name.Length + 4);
        for (var index = 0; index < name.Length; index++)
        {
            if (char.IsAsciiLetterUpper(name[index]) && index > 0)
            {
                output.Append('_');
            }

            output.Append(char.ToLowerInvariant(name[index]));
        }

        return output.ToString();
    }

    /// <summary>Counts a charging answer, and a denial by its reason when the RPC grants credit.</summary>
    public void Answered(string method, ResultCode code, string resultMessage)
    {
        ChargingAnswers.WithLabels(method, ResultCodeText(code)).Increment();
        if (code != ResultCode.Success && method is "Reserve" or "Update" or "Debit")
        {
            GrantsDenied.WithLabels(DenialReasons.Of(code, resultMessage)).Increment();
        }
    }

    /// <summary>Result codes as numbers; a value outside the enum (never sent) is not given a label set of its own.</summary>
    private static string ResultCodeText(ResultCode code) => code switch
    {
        ResultCode.Success => "2001",
        ResultCode.UnknownSessionId => "5002",
        ResultCode.EndUserServiceDenied => "4010",
        ResultCode.CreditControlNotApplicable => "4011",
        ResultCode.CreditLimitReached => "4012",
        ResultCode.UserUnknown => "5030",
        ResultCode.RatingFailed => "5031",
        _ => "other",
    };
}
