namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>A client of the commscredits.v1.Accounts service. Thread-safe; share one per channel.</summary>
public sealed class AccountsClient(GrpcChannel channel)
{
    private const string Service = "/commscredits.v1.Accounts/";

    public Task<Tenant> CreateTenantAsync(CreateTenantRequest request, CallOptions options = default) =>
        channel.UnaryAsync<CreateTenantRequest, Tenant>(Service + "CreateTenant", request, options);

    public Task<AddFundsResponse> AddFundsAsync(AddFundsRequest request, CallOptions options = default) =>
        channel.UnaryAsync<AddFundsRequest, AddFundsResponse>(Service + "AddFunds", request, options);

    public Task<Balance> GetBalanceAsync(GetBalanceRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetBalanceRequest, Balance>(Service + "GetBalance", request, options);

    public Task<ImportRatesResponse> ImportRatesAsync(ImportRatesRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ImportRatesRequest, ImportRatesResponse>(Service + "ImportRates", request, options);
}
