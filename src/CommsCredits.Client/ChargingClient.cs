namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>
/// A client of the commscredits.v1.Charging service. Thread-safe; share one per channel. Every call carries the API key
/// (a network-element key) as "authorization: Bearer &lt;key&gt;".
/// </summary>
public sealed class ChargingClient(GrpcChannel channel, string apiKey)
{
    private const string Service = "/commscredits.v1.Charging/";

    private readonly ApiKeyHeaders key = new(apiKey);

    public Task<ReserveResponse> ReserveAsync(ReserveRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ReserveRequest, ReserveResponse>(Service + "Reserve", request, key.Apply(options));

    public Task<UpdateResponse> UpdateAsync(UpdateRequest request, CallOptions options = default) =>
        channel.UnaryAsync<UpdateRequest, UpdateResponse>(Service + "Update", request, key.Apply(options));

    public Task<TerminateResponse> TerminateAsync(TerminateRequest request, CallOptions options = default) =>
        channel.UnaryAsync<TerminateRequest, TerminateResponse>(Service + "Terminate", request, key.Apply(options));

    public Task<DebitResponse> DebitAsync(DebitRequest request, CallOptions options = default) =>
        channel.UnaryAsync<DebitRequest, DebitResponse>(Service + "Debit", request, key.Apply(options));

    public Task<RefundResponse> RefundAsync(RefundRequest request, CallOptions options = default) =>
        channel.UnaryAsync<RefundRequest, RefundResponse>(Service + "Refund", request, key.Apply(options));

    public Task<CheckBalanceResponse> CheckBalanceAsync(CheckBalanceRequest request, CallOptions options = default) =>
        channel.UnaryAsync<CheckBalanceRequest, CheckBalanceResponse>(Service + "CheckBalance", request, key.Apply(options));

    public Task<PriceEnquiryResponse> PriceEnquiryAsync(PriceEnquiryRequest request, CallOptions options = default) =>
        channel.UnaryAsync<PriceEnquiryRequest, PriceEnquiryResponse>(Service + "PriceEnquiry", request, key.Apply(options));
}
