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

    public Task<Tenant> UpdateTenantAsync(UpdateTenantRequest request, CallOptions options = default) =>
        channel.UnaryAsync<UpdateTenantRequest, Tenant>(Service + "UpdateTenant", request, options);

    public Task<AccountBalance> GetBalanceAsync(GetBalanceRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetBalanceRequest, AccountBalance>(Service + "GetBalance", request, options);

    public Task<ListLedgerEntriesResponse> ListLedgerEntriesAsync(ListLedgerEntriesRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ListLedgerEntriesRequest, ListLedgerEntriesResponse>(Service + "ListLedgerEntries", request, options);

    public Task<AutoRecharge> SetAutoRechargeAsync(SetAutoRechargeRequest request, CallOptions options = default) =>
        channel.UnaryAsync<SetAutoRechargeRequest, AutoRecharge>(Service + "SetAutoRecharge", request, options);

    public Task<AutoRecharge> GetAutoRechargeAsync(GetAutoRechargeRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetAutoRechargeRequest, AutoRecharge>(Service + "GetAutoRecharge", request, options);

    public Task<ImportRatesResponse> ImportRatesAsync(ImportRatesRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ImportRatesRequest, ImportRatesResponse>(Service + "ImportRates", request, options);
}
