namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Grpc.Server;
using Microsoft.Extensions.Logging;

/// <summary>
/// The commscredits.v1.Charging service: one handler per RPC, bound by name from the proto descriptor. Each runs in a
/// logging scope with the request's SessionId and TenantId, so every line logged while charging it carries them as fields.
/// </summary>
public sealed class ChargingService(SessionCharging sessions, EventCharging events, ILogger<ChargingService> logger)
{
    private static readonly Func<ILogger, string, string, IDisposable?> SessionScope =
        LoggerMessage.DefineScope<string, string>("SessionId:{SessionId} TenantId:{TenantId}");

    private static readonly Func<ILogger, string, IDisposable?> TenantScope = LoggerMessage.DefineScope<string>("TenantId:{TenantId}");

    public Task<ReserveResponse> Reserve(ReserveRequest request, ServerCallContext context) =>
        InScopeAsync(request.SessionId, request.TenantId, request, context, sessions.ReserveAsync);

    public Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context) =>
        InScopeAsync(request.SessionId, request.TenantId, request, context, sessions.UpdateAsync);

    public Task<TerminateResponse> Terminate(TerminateRequest request, ServerCallContext context) =>
        InScopeAsync(request.SessionId, request.TenantId, request, context, sessions.TerminateAsync);

    public Task<DebitResponse> Debit(DebitRequest request, ServerCallContext context) =>
        InScopeAsync(request.SessionId, request.TenantId, request, context, events.DebitAsync);

    public Task<RefundResponse> Refund(RefundRequest request, ServerCallContext context) =>
        InScopeAsync(request.SessionId, request.TenantId, request, context, events.RefundAsync);

    public Task<CheckBalanceResponse> CheckBalance(CheckBalanceRequest request, ServerCallContext context) =>
        InScopeAsync(sessionId: null, request.TenantId, request, context, events.CheckBalanceAsync);

    public Task<PriceEnquiryResponse> PriceEnquiry(PriceEnquiryRequest request, ServerCallContext context) =>
        InScopeAsync(sessionId: null, request.TenantId, request, context, events.PriceEnquiryAsync);

    /// <summary>
    /// Runs the handler inside a scope with the request's ids. The scope is opened here, inside the async method, so that
    /// it ends with the handler and never flows back into the transport's context.
    /// </summary>
    private async Task<TResponse> InScopeAsync<TRequest, TResponse>(
        string? sessionId, string tenantId, TRequest request, ServerCallContext context, Func<TRequest, CancellationToken, Task<TResponse>> handler)
    {
        using var scope = sessionId is null ? TenantScope(logger, tenantId) : SessionScope(logger, sessionId, tenantId);
        return await handler(request, context.CancellationToken);
    }
}
