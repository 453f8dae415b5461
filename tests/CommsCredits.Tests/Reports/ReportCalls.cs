namespace CommsCredits.Tests.Reports;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Google.Protobuf;

/// <summary>Calls commscredits.v1.Reports through the channel's generic calls, with the gateway's admin key.</summary>
public static class ReportCalls
{
    private const string Service = "/commscredits.v1.Reports/";

    public static async Task<IReadOnlyList<UsageRecord>> ExportUsageAsync(GatewayInstance gateway, ExportUsageRequest request, string? apiKey = null) =>
        await StreamAsync<ExportUsageRequest, UsageRecord>(gateway, "ExportUsage", request, apiKey);

    public static async Task<IReadOnlyList<StatementLine>> ExportLedgerStatementAsync(GatewayInstance gateway, ExportLedgerStatementRequest request) =>
        await StreamAsync<ExportLedgerStatementRequest, StatementLine>(gateway, "ExportLedgerStatement", request, apiKey: null);

    public static Task<RechargeAdvice> AdviseRechargeAsync(GatewayInstance gateway, AdviseRechargeRequest request) =>
        gateway.Channel.UnaryAsync<AdviseRechargeRequest, RechargeAdvice>(Service + "AdviseRecharge", request, Admin(gateway));

    private static CallOptions Admin(GatewayInstance gateway, string? apiKey = null) =>
        new(new Metadata().Add("authorization", "Bearer " + (apiKey ?? gateway.AdminKey)), DateTime.UtcNow.AddMinutes(2));

    private static async Task<List<TResponse>> StreamAsync<TRequest, TResponse>(GatewayInstance gateway, string method, TRequest request, string? apiKey = null)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        using var call = gateway.Channel.ServerStreaming<TRequest, TResponse>(Service + method, request, Admin(gateway, apiKey));
        var responses = new List<TResponse>();
        await foreach (var response in call)
        {
            responses.Add(response);
        }

        return responses;
    }
}
