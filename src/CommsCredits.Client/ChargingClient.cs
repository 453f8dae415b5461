namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>A client of the commscredits.v1.Charging service. Thread-safe; share one per channel.</summary>
public sealed class ChargingClient(GrpcChannel channel)
{
    private const string Service = "/commscredits.v1.Charging/";

    public Task<ReserveResponse> ReserveAsync(ReserveRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ReserveRequest, ReserveResponse>(Service + "Reserve", request, options);

    public Task<UpdateResponse> UpdateAsync(UpdateRequest request, CallOptions options = default) =>
        channel.UnaryAsync<UpdateRequest, UpdateResponse>(Service + "Update", request, options);

    public Task<TerminateResponse> TerminateAsync(TerminateRequest request, CallOptions options = default) =>
        channel.UnaryAsync<TerminateRequest, TerminateResponse>(Service + "Terminate", request, options);

    public Task<DebitResponse> DebitAsync(DebitRequest request, CallOptions options = default) =>
        channel.UnaryAsync<DebitRequest, DebitResponse>(Service + "Debit", request, options);

    public Task<RefundResponse> RefundAsync(RefundRequest request, CallOptions options = default) =>
        channel.UnaryAsync<RefundRequest, RefundResponse>(Service + "Refund", request, options);

    public Task<CheckBalanceResponse> CheckBalanceAsync(CheckBalanceRequest request, CallOptions options = default) =>
        channel.UnaryAsync<CheckBalanceRequest, CheckBalanceResponse>(Service + "CheckBalance", request, options);

    public Task<PriceEnquiryResponse> PriceEnquiryAsync(PriceEnquiryRequest request, CallOptions options = default) =>
        channel.UnaryAsync<PriceEnquiryRequest, PriceEnquiryResponse>(Service + "PriceEnquiry", request, options);
}
