namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>
/// A client of the commscredits.v1.Reports service. Thread-safe; share one per channel. Every call carries the API key
/// (an admin key) as "authorization: Bearer &lt;key&gt;". Dispose the streaming calls it returns.
/// </summary>
public sealed class ReportsClient(GrpcChannel channel, string apiKey)
{
    private const string Service = "/commscredits.v1.Reports/";

    private readonly ApiKeyHeaders key = new(apiKey);

    public ServerStreamingCall<UsageRecord> ExportUsage(ExportUsageRequest request, CallOptions options = default) =>
        channel.ServerStreaming<ExportUsageRequest, UsageRecord>(Service + "ExportUsage", request, key.Apply(options));

    public ServerStreamingCall<StatementLine> ExportLedgerStatement(ExportLedgerStatementRequest request, CallOptions options = default) =>
        channel.ServerStreaming<ExportLedgerStatementRequest, StatementLine>(Service + "ExportLedgerStatement", request, key.Apply(options));

    public Task<RechargeAdvice> AdviseRechargeAsync(AdviseRechargeRequest request, CallOptions options = default) =>
        channel.UnaryAsync<AdviseRechargeRequest, RechargeAdvice>(Service + "AdviseRecharge", request, key.Apply(options));
}
