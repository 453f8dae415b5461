namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Accounts;
using CommsCredits.Grpc.Server;

/// <summary>The commscredits.v1.Accounts service.</summary>
public sealed class AccountsService(AccountAdministration administration)
{
    public Task<Tenant> CreateTenant(CreateTenantRequest request, ServerCallContext context) =>
        administration.CreateTenantAsync(request, context.CancellationToken);

    public Task<AddFundsResponse> AddFunds(AddFundsRequest request, ServerCallContext context) =>
        administration.AddFundsAsync(request, context.CancellationToken);

    public Task<Tenant> UpdateTenant(UpdateTenantRequest request, ServerCallContext context) =>
        administration.UpdateTenantAsync(request, context.CancellationToken);

    public Task<AccountBalance> GetBalance(GetBalanceRequest request, ServerCallContext context) =>
        administration.GetBalanceAsync(request, context.CancellationToken);

    public Task<ListLedgerEntriesResponse> ListLedgerEntries(ListLedgerEntriesRequest request, ServerCallContext context) =>
        administration.ListLedgerEntriesAsync(request, context.CancellationToken);

    public Task<AutoRecharge> SetAutoRecharge(SetAutoRechargeRequest request, ServerCallContext context) =>
        administration.SetAutoRechargeAsync(request, context.CancellationToken);

    public Task<AutoRecharge> GetAutoRecharge(GetAutoRechargeRequest request, ServerCallContext context) =>
        administration.GetAutoRechargeAsync(request, context.CancellationToken);

    public Task<ImportRatesResponse> ImportRates(ImportRatesRequest request, ServerCallContext context) =>
        administration.ImportRatesAsync(request, context.CancellationToken);
}
