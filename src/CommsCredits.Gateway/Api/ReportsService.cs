namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Reports;
using CommsCredits.Grpc.Server;

/// <summary>The commscredits.v1.Reports service.</summary>
public sealed class ReportsService(UsageExport usage, LedgerStatement statement, RechargeAdvisor advisor)
{
    public Task ExportUsage(ExportUsageRequest request, IServerStreamWriter<UsageRecord> responses, ServerCallContext context) =>
        usage.ExportAsync(request, responses, context.CancellationToken);

    public Task ExportLedgerStatement(ExportLedgerStatementRequest request, IServerStreamWriter<StatementLine> responses, ServerCallContext context) =>
        statement.ExportAsync(request, responses, context.CancellationToken);

    public Task<RechargeAdvice> AdviseRecharge(AdviseRechargeRequest request, ServerCallContext context) =>
        advisor.AdviseAsync(request, context.CancellationToken);
}
