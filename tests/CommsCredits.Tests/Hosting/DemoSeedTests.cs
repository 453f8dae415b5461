namespace CommsCredits.Tests.Hosting;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Accounts;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Tests.Charging;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Provisioning.Directories;

/// <summary>The demo data that `make run` seeds.</summary>
public sealed class DemoSeedTests
{
    [Fact]
    public async Task The_demo_seed_gives_the_demo_tenant_its_directory_once()
    {
        // Proves the `make run` seed: tenant demo gets alice, bob and carol with their licences, the toll-free number,
        // and the two pools sized from them (gb-domestic from alice and bob, conf-zone-a from alice); running it again
        // changes nothing (no directory revision raised).
        var gateway = await SharedGateway.GetAsync();
        var accounts = gateway.Services.GetRequiredService<AccountAdministration>();
        var administration = gateway.Services.GetRequiredService<DirectoryAdministration>();
        await DemoSeed.RunAsync(accounts, administration, CancellationToken.None);
        var revision = await RevisionAsync(gateway, DemoSeed.TenantId);
        await DemoSeed.RunAsync(accounts, administration, CancellationToken.None);
        (await RevisionAsync(gateway, DemoSeed.TenantId)).ShouldBe(revision);

        var directory = Client(gateway);
        var users = await directory.ListUsersAsync(new ListUsersRequest { TenantId = DemoSeed.TenantId });
        users.Users.Select(user => (user.UserId, user.CommunicationsCreditsLicence, user.CallingPlan, user.AudioConferencing, user.LocationCountry)).ShouldBe(
        [
            ("alice@demo.example", true, CallingPlan.Domestic, true, "GB"),
            ("bob@demo.example", false, CallingPlan.Domestic, false, "GB"),
            ("carol@demo.example", true, CallingPlan.PayAsYouGo, false, "GB"),
        ]);
        (await directory.ListTollFreeNumbersAsync(new ListTollFreeNumbersRequest { TenantId = DemoSeed.TenantId })).Numbers
            .ShouldHaveSingleItem().Number.ShouldBe("+448000000001");
        var pools = await directory.ListMinutePoolsAsync(new ListMinutePoolsRequest { TenantId = DemoSeed.TenantId });
        pools.Pools.Select(pool => (pool.PoolId, pool.LicensedUsers, pool.SizeMinutes)).ShouldBe([("conf-zone-a", 1u, 60L), ("gb-domestic", 2u, 6_000L)]);
    }
}
