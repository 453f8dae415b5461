namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Grpc.Server;
using Microsoft.Extensions.Logging;

/// <summary>
/// The commscredits.v1.Charging service: one handler per RPC, bound by name from the proto descriptor. Each runs in a
/// logging scope with the request's SessionId and TenantId, so every line logged while charging it carries them as fields,
/// and its answer is counted by result code (and a denial by reason) in the metrics.
/// </summary>
public sealed class ChargingService(SessionCharging sessions, EventCharging events, ILogger<ChargingService> logger, GatewayMetrics? metrics = null)
{
    private static readonly Func<ILogger, string, string, IDisposable?> SessionScope =
        LoggerMessage.DefineScope<string, string>("SessionId:{SessionId} TenantId:{TenantId}");

    private static readonly Func<ILogger, string, IDisposable?> TenantScope = LoggerMessage.DefineScope<string>("TenantId:{TenantId}");

    public Task<ReserveResponse> Reserve(ReserveRequest request, ServerCallContext context) =>
        InScopeAsync("Reserve", request.SessionId, request.TenantId, request, context, sessions.ReserveAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context) =>
        InScopeAsync("Update", request.SessionId, request.TenantId, request, context, sessions.UpdateAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<TerminateResponse> Terminate(TerminateRequest request, ServerCallContext context) =>
        InScopeAsync("Terminate", request.SessionId, request.TenantId, request, context, sessions.TerminateAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<DebitResponse> Debit(DebitRequest request, ServerCallContext context) =>
        InScopeAsync("Debit", request.SessionId, request.TenantId, request, context, events.DebitAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<RefundResponse> Refund(RefundRequest request, ServerCallContext context) =>
        InScopeAsync("Refund", request.SessionId, request.TenantId, request, context, events.RefundAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<CheckBalanceResponse> CheckBalance(CheckBalanceRequest request, ServerCallContext context) =>
        InScopeAsync("CheckBalance", sessionId: null, request.TenantId, request, context, events.CheckBalanceAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<PriceEnquiryResponse> PriceEnquiry(PriceEnquiryRequest request, ServerCallContext context) =>
        InScopeAsync("PriceEnquiry", sessionId: null, request.TenantId, request, context, events.PriceEnquiryAsync, static response => (response.ResultCode, response.ResultMessage));

    /// <summary>
    /// Runs the handler inside a scope with the request's ids, then counts its answer. The scope is opened here, inside
    /// the async method, so that it ends with the handler and never flows back into the transport's context.
    /// </summary>
    private async Task<TResponse> InScopeAsync<TRequest, TResponse>(
        string method, string? sessionId, string tenantId, TRequest request, ServerCallContext context,
        Func<TRequest, CancellationToken, Task<TResponse>> handler, Func<TResponse, (ResultCode Code, string Message)> result)
    {
        using var scope = sessionId is null ? TenantScope(logger, tenantId) : SessionScope(logger, sessionId, tenantId);
        var response = await handler(request, context.CancellationToken);
        if (metrics is not null)
        {
            var (code, message) = result(response);
            metrics.Answered(method, code, message);
        }

        return response;
    }
}
