namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>
/// A client of the commscredits.v1.Accounts service. Thread-safe; share one per channel. Every call carries the API key
/// (an admin key) as "authorization: Bearer &lt;key&gt;".
/// </summary>
public sealed class AccountsClient(GrpcChannel channel, string apiKey)
{
    private const string Service = "/commscredits.v1.Accounts/";

    private readonly ApiKeyHeaders key = new(apiKey);

    public Task<Tenant> CreateTenantAsync(CreateTenantRequest request, CallOptions options = default) =>
        channel.UnaryAsync<CreateTenantRequest, Tenant>(Service + "CreateTenant", request, key.Apply(options));

    public Task<AddFundsResponse> AddFundsAsync(AddFundsRequest request, CallOptions options = default) =>
        channel.UnaryAsync<AddFundsRequest, AddFundsResponse>(Service + "AddFunds", request, key.Apply(options));

    public Task<Tenant> UpdateTenantAsync(UpdateTenantRequest request, CallOptions options = default) =>
        channel.UnaryAsync<UpdateTenantRequest, Tenant>(Service + "UpdateTenant", request, key.Apply(options));

    public Task<AccountBalance> GetBalanceAsync(GetBalanceRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetBalanceRequest, AccountBalance>(Service + "GetBalance", request, key.Apply(options));

    public Task<ListLedgerEntriesResponse> ListLedgerEntriesAsync(ListLedgerEntriesRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ListLedgerEntriesRequest, ListLedgerEntriesResponse>(Service + "ListLedgerEntries", request, key.Apply(options));

    public Task<AutoRecharge> SetAutoRechargeAsync(SetAutoRechargeRequest request, CallOptions options = default) =>
        channel.UnaryAsync<SetAutoRechargeRequest, AutoRecharge>(Service + "SetAutoRecharge", request, key.Apply(options));

    public Task<AutoRecharge> GetAutoRechargeAsync(GetAutoRechargeRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetAutoRechargeRequest, AutoRecharge>(Service + "GetAutoRecharge", request, key.Apply(options));

    public Task<ImportRatesResponse> ImportRatesAsync(ImportRatesRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ImportRatesRequest, ImportRatesResponse>(Service + "ImportRates", request, key.Apply(options));
}
