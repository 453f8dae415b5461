namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Grpc.Server;

/// <summary>The commscredits.v1.Charging service: one handler per RPC, bound by name from the proto descriptor.</summary>
public sealed class ChargingService(SessionCharging sessions, EventCharging events)
{
    public Task<ReserveResponse> Reserve(ReserveRequest request, ServerCallContext context) =>
        sessions.ReserveAsync(request, context.CancellationToken);

    public Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context) =>
        sessions.UpdateAsync(request, context.CancellationToken);

    public Task<TerminateResponse> Terminate(TerminateRequest request, ServerCallContext context) =>
        sessions.TerminateAsync(request, context.CancellationToken);

    public Task<DebitResponse> Debit(DebitRequest request, ServerCallContext context) =>
        events.DebitAsync(request, context.CancellationToken);

    public Task<RefundResponse> Refund(RefundRequest request, ServerCallContext context) =>
        events.RefundAsync(request, context.CancellationToken);

    public Task<CheckBalanceResponse> CheckBalance(CheckBalanceRequest request, ServerCallContext context) =>
        events.CheckBalanceAsync(request, context.CancellationToken);

    public Task<PriceEnquiryResponse> PriceEnquiry(PriceEnquiryRequest request, ServerCallContext context) =>
        events.PriceEnquiryAsync(request, context.CancellationToken);
}
