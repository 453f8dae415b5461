namespace CommsCredits.Tests.Credentials;

using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.GatewayInstance;
using static CommsCredits.Tests.Credentials.AuthenticationTests;

/// <summary>
/// A gateway of its own (its key cache and counters are not shared), checking keys against PostgreSQL every second:
/// revocations, and what unknown keys cost.
/// </summary>
public sealed class RevocationTests(RevocationTests.Gateway fixture) : IClassFixture<RevocationTests.Gateway>
{
    [Fact]
    public async Task A_revoked_key_is_refused_by_every_gateway_through_the_notification_and_the_refused_debit_charges_nothing()
    {
        // Proves revocation through the store, which notifies every gateway: a second gateway on the same database,
        // whose periodic check is an hour away, refuses the key it holds in memory within seconds, so only the
        // notification can have told it. A debit sent with the revoked key leaves the balance as it was.
        await using var other = await GatewayInstance.StartAlongsideAsync(fixture.Instance, "--Credentials:RefreshIntervalSeconds=3600");
        var tenant = await other.CreateTenantAsync(10_000_000, Rate("44", 60_000));
        var key = await other.CreateKeyAsync(ApiKeyRole.NetworkElement, tenant);
        var charging = new ChargingClient(other.Channel, key);
        (await charging.DebitAsync(Debit(tenant))).ResultCode.ShouldBe(ResultCode.Success);

        var store = fixture.Instance.Services.GetRequiredService<ApiKeyStore>();
        (await store.RevokeAsync(key[4..16], CancellationToken.None)).ShouldBe(RevokeOutcome.Revoked);
        await Refusals.UnauthenticatedSoonAsync(() => charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant }));
        var refused = await Should.ThrowAsync<RpcException>(() => charging.DebitAsync(Debit(tenant)));

        refused.StatusCode.ShouldBe(StatusCode.Unauthenticated);
        (await other.LedgerAsync(tenant)).Debited.ShouldBe(60_000);
        (await other.RedisAccountAsync(tenant)).ShouldBe((10_000_000L - 60_000, 0L));
        other.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_key_revoked_without_a_notification_is_refused_within_the_refresh_interval()
    {
        // Proves the periodic check is a real backup: revoked_at set by plain SQL, which notifies nobody, still makes
        // the gateway refuse the key it holds in memory within Credentials:RefreshIntervalSeconds (1 s here).
        var gateway = fixture.Instance;
        var tenant = await gateway.CreateTenantAsync(1_000_000);
        var key = await gateway.CreateKeyAsync(ApiKeyRole.Admin, tenant);
        var accounts = new AccountsClient(gateway.Channel, key);
        await accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant });

        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            await connection.ExecuteAsync("UPDATE api_keys SET revoked_at = now() WHERE key_id = @keyId", new { keyId = key[4..16] });
        }

        await Refusals.UnauthenticatedSoonAsync(() => accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant }));
    }

    [Fact]
    public async Task Retries_with_an_unknown_key_reach_PostgreSQL_once_while_it_is_remembered_as_unknown()
    {
        // Proves the negative cache: 50 calls with the same made-up (well-formed) key cost one PostgreSQL lookup, and
        // every one of them is UNAUTHENTICATED. Text that is not a key at all costs no lookup.
        var gateway = fixture.Instance;
        var cache = gateway.Services.GetRequiredService<ApiKeyCache>();
        var (_, madeUp, _) = ApiKeyFormat.Generate();
        var loadsBefore = cache.LoadCount;

        for (var attempt = 0; attempt < 50; attempt++)
        {
            await RefusedWithAsync(gateway, "Bearer " + madeUp);
            await RefusedWithAsync(gateway, "Bearer cck_not-a-key");
        }

        (cache.LoadCount - loadsBefore).ShouldBe(1);
    }

    private static async Task RefusedWithAsync(GatewayInstance gateway, string authorization)
    {
        var refused = await Should.ThrowAsync<RpcException>(() => gateway.Channel.UnaryAsync<CheckBalanceRequest, CheckBalanceResponse>(
            "/commscredits.v1.Charging/CheckBalance", new CheckBalanceRequest { TenantId = "nobody" }, Authorization(authorization)));
        refused.StatusCode.ShouldBe(StatusCode.Unauthenticated);
    }

    /// <summary>The gateway these tests share, with a 1 s key check and unknown keys remembered for a minute.</summary>
    public sealed class Gateway : IAsyncLifetime
    {
        public GatewayInstance Instance { get; private set; } = null!;

        public async Task InitializeAsync() =>
            Instance = await GatewayInstance.StartAsync(null, "--Credentials:RefreshIntervalSeconds=1", "--Credentials:UnknownKeyCacheSeconds=60");

        public async Task DisposeAsync()
        {
            Instance.Errors.Entries.ShouldBeEmpty();
            await Instance.DisposeAsync();
        }
    }
}
