namespace CommsCredits.Tests.Provisioning;

using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Charging;
using Dapper;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Provisioning.Directories;

/// <summary>Every gateway's in-memory directory follows the changes made through any gateway.</summary>
public sealed class DirectoryRefreshTests
{
    [Fact]
    public async Task A_change_through_one_gateway_reaches_another_gateways_catalog_by_notification()
    {
        // Proves the change notification: a second gateway on the same database, whose periodic check is an hour
        // away and which already holds the tenant's (empty) directory, sees a new user, toll-free number and pool
        // put through the first gateway, with the pool sized from the new user, and later sees the user removed.
        var gateway = await SharedGateway.GetAsync();
        await using var other = await GatewayInstance.StartAlongsideAsync(gateway, "--Catalog:RefreshIntervalSeconds=3600");
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        (await CachedDirectoryAsync(other, tenant)).UserCount.ShouldBe(0);

        var number = "+44800" + Random.Shared.Next(1_000_000, 10_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await directory.PutUserAsync(User(tenant, "alice", CallingPlan.Domestic));
        await directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = tenant, Number = number });
        await directory.PutMinutePoolAsync(Pool(tenant, "gb", 3_000, ["44"], ["GB"]));

        (await CatalogShowsAsync(other, tenant, seen =>
            seen.TryGetUser("alice", out _) && seen.OwnsTollFreeNumber(number) && seen.Pools.Count == 1)).ShouldBeTrue();
        var loaded = await CachedDirectoryAsync(other, tenant);
        loaded.TryGetUser("alice", out var alice).ShouldBeTrue();
        loaded.FindPool(CallType.OutboundPstn, "+442079460000", alice)!.SizeSeconds.ShouldBe(3_000 * 60);

        await directory.RemoveUserAsync(new RemoveUserRequest { TenantId = tenant, UserId = "alice" });
        (await CatalogShowsAsync(other, tenant, seen => !seen.TryGetUser("alice", out _) && seen.Pools[0].SizeSeconds == 0)).ShouldBeTrue();
        other.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task The_periodic_check_catches_a_change_whose_notification_was_lost()
    {
        // Proves the fallback: a change written straight into PostgreSQL, raising the revision but sending no
        // notification, reaches a gateway through its periodic revision check (every second here).
        var gateway = await SharedGateway.GetAsync();
        await using var other = await GatewayInstance.StartAlongsideAsync(gateway, "--Catalog:RefreshIntervalSeconds=1");
        var tenant = await gateway.CreateTenantAsync(0);
        (await CachedDirectoryAsync(other, tenant)).UserCount.ShouldBe(0);

        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO users (tenant_id, user_id, upn, display_name, location_country, communications_credits_licence, calling_plan, audio_conferencing)
                VALUES (@tenant, 'quiet', 'quiet@test.example', 'Quiet', 'GB', true, 2, false);
                UPDATE tenants SET directory_revision = directory_revision + 1 WHERE tenant_id = @tenant;
                """,
                new { tenant });
        }

        (await CatalogShowsAsync(other, tenant, seen => seen.TryGetUser("quiet", out _))).ShouldBeTrue();
    }
}
