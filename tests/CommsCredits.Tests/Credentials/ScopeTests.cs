namespace CommsCredits.Tests.Credentials;

using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Provisioning;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;
using static CommsCredits.Tests.Credentials.AuthenticationTests;

/// <summary>Keys scoped to one tenant: they act for it, and for no other.</summary>
public sealed class ScopeTests
{
    [Fact]
    public async Task A_network_element_key_scoped_to_a_tenant_charges_it_and_is_refused_for_another_which_stays_untouched()
    {
        // Proves tenant scope on the charging path: a full call on the key's own tenant succeeds; a Reserve and a
        // Debit naming another tenant are PERMISSION_DENIED, leaving that tenant's ledger, Redis balance and holds as
        // they were.
        var gateway = await SharedGateway.GetAsync();
        var own = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000));
        var other = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000));
        var charging = new ChargingClient(gateway.Channel, await gateway.CreateKeyAsync(ApiKeyRole.NetworkElement, own));

        var session = NewSessionId();
        (await charging.ReserveAsync(Reserve(own, session, 60))).ResultCode.ShouldBe(ResultCode.Success);
        (await charging.TerminateAsync(Terminate(own, session, 1, 60))).ResultCode.ShouldBe(ResultCode.Success);
        var reserve = await Should.ThrowAsync<RpcException>(() => charging.ReserveAsync(Reserve(other, NewSessionId(), 60)));
        var debit = await Should.ThrowAsync<RpcException>(() => charging.DebitAsync(Debit(other)));

        reserve.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        reserve.Status.Detail.ShouldContain($"may act only for tenant '{own}'");
        debit.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        (await gateway.LedgerAsync(own)).Debited.ShouldBe(60_000);
        (await gateway.LedgerAsync(other)).ShouldBe((10_000_000L, 0L, 10_000_000L));
        (await gateway.RedisAccountAsync(other)).ShouldBe((10_000_000L, 0L));
    }

    [Fact]
    public async Task An_admin_key_scoped_to_a_tenant_administers_it_and_cannot_fund_or_create_another()
    {
        // Proves tenant scope on the admin path: the scoped admin key reads and funds its own tenant; funding another
        // tenant and creating a new one are PERMISSION_DENIED and leave no trace.
        var gateway = await SharedGateway.GetAsync();
        var own = await gateway.CreateTenantAsync(0);
        var other = await gateway.CreateTenantAsync(0);
        var accounts = new AccountsClient(gateway.Channel, await gateway.CreateKeyAsync(ApiKeyRole.Admin, own));

        (await accounts.AddFundsAsync(Funding(own, 7_000_000))).Balance.Balance_.AmountMicros.ShouldBe(7_000_000);
        (await accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = own })).Balance.Balance_.AmountMicros.ShouldBe(7_000_000);
        var funding = await Should.ThrowAsync<RpcException>(() => accounts.AddFundsAsync(Funding(other, 7_000_000)));
        var newTenant = "scoped-" + Guid.NewGuid().ToString("N")[..8];
        var creation = await Should.ThrowAsync<RpcException>(() => accounts.CreateTenantAsync(
            new CreateTenantRequest { TenantId = newTenant, Currency = "EUR", DisplayName = "Not allowed" }));

        funding.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        creation.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        (await gateway.LedgerAsync(other)).Funded.ShouldBe(0);
        var lookup = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = newTenant }));
        lookup.StatusCode.ShouldBe(StatusCode.NotFound);
    }

    [Fact]
    public async Task The_Directory_service_needs_an_admin_key_and_honours_its_scope()
    {
        // Proves a service registered with no access rule is admin-only, with scope: a network-element key is refused,
        // an admin key scoped to one tenant puts a user there but not in another tenant, which stays without users.
        var gateway = await SharedGateway.GetAsync();
        var own = await gateway.CreateTenantAsync(0);
        var other = await gateway.CreateEmptyTenantAsync();
        var scoped = new DirectoryClient(gateway.Channel, await gateway.CreateKeyAsync(ApiKeyRole.Admin, own));
        var networkElement = new DirectoryClient(gateway.Channel, gateway.NetworkElementKey);

        (await scoped.PutUserAsync(Directories.User(own, "alice@own.example"))).UserId.ShouldBe("alice@own.example");
        var wrongRole = await Should.ThrowAsync<RpcException>(() => networkElement.ListUsersAsync(new ListUsersRequest { TenantId = own }));
        var wrongTenant = await Should.ThrowAsync<RpcException>(() => scoped.PutUserAsync(Directories.User(other, "mallory@other.example")));

        wrongRole.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        wrongTenant.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        (await Directories.Client(gateway).ListUsersAsync(new ListUsersRequest { TenantId = other })).Users.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_key_cannot_be_scoped_to_a_tenant_that_does_not_exist()
    {
        // Proves the store refuses a scope naming no tenant (the foreign key), with a message naming it.
        var gateway = await SharedGateway.GetAsync();
        var error = await Should.ThrowAsync<ArgumentException>(() => gateway.CreateKeyAsync(ApiKeyRole.NetworkElement, "no-such-tenant"));
        error.Message.ShouldContain("tenant 'no-such-tenant' does not exist");
    }

    private static AddFundsRequest Funding(string tenantId, long micros) => new()
    {
        TenantId = tenantId, Amount = new Money { AmountMicros = micros, Currency = "EUR" }, IdempotencyKey = "scope-" + Guid.NewGuid().ToString("N"),
    };
}
