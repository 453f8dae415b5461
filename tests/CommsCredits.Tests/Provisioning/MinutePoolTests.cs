namespace CommsCredits.Tests.Provisioning;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Provisioning.Directories;

/// <summary>PutMinutePool, ListMinutePools and RemoveMinutePool, and pool sizes that follow the licences.</summary>
public sealed class MinutePoolTests
{
    [Fact]
    public async Task Pool_sizes_follow_the_licensed_users()
    {
        // Proves sizing from the directory: a GB domestic pool of 3,000 minutes per licence grows with each user
        // whose calling plan includes domestic calls and who is in GB, ignores a US user and a pay-as-you-go user,
        // shrinks when a user loses the plan or is removed; the conferencing pool counts audio conferencing only.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        var created = await directory.PutMinutePoolAsync(Pool(tenant, "gb-domestic", 3_000, ["44"], ["GB"]));
        created.LicensedUsers.ShouldBe(0u);
        created.SizeMinutes.ShouldBe(0);
        await directory.PutMinutePoolAsync(Pool(tenant, "conf", 60, ["44", "33"], callType: CallType.ConferenceDialOut, entitlement: PoolEntitlement.AudioConferencing));

        await directory.PutUserAsync(User(tenant, "alice", CallingPlan.Domestic, conferencing: true));
        (await SizesAsync()).ShouldBe([("conf", 1u, 60L), ("gb-domestic", 1u, 3_000L)]);

        await directory.PutUserAsync(User(tenant, "bob", CallingPlan.DomesticAndInternational));
        await directory.PutUserAsync(User(tenant, "carol", CallingPlan.PayAsYouGo, conferencing: true));
        await directory.PutUserAsync(User(tenant, "dave", CallingPlan.Domestic, country: "US"));
        (await SizesAsync()).ShouldBe([("conf", 2u, 120L), ("gb-domestic", 2u, 6_000L)]);

        await directory.PutUserAsync(User(tenant, "bob", CallingPlan.None));
        await directory.RemoveUserAsync(new RemoveUserRequest { TenantId = tenant, UserId = "carol" });
        (await SizesAsync()).ShouldBe([("conf", 1u, 60L), ("gb-domestic", 1u, 3_000L)]);

        // The catalog the charging path reads holds the same sizes, in seconds.
        var cached = await CachedDirectoryAsync(gateway, tenant);
        cached.Pools.Single(pool => string.Equals(pool.PoolId, "gb-domestic", StringComparison.Ordinal)).SizeSeconds.ShouldBe(3_000 * 60);

        async Task<List<(string, uint, long)>> SizesAsync()
        {
            var page = await directory.ListMinutePoolsAsync(new ListMinutePoolsRequest { TenantId = tenant });
            return [.. page.Pools.Select(pool => (pool.PoolId, pool.LicensedUsers, pool.SizeMinutes))];
        }
    }

    [Fact]
    public async Task A_pool_is_replaced_listed_in_order_and_removed()
    {
        // Proves PutMinutePool's create-or-replace: the same pool with its lists in another order changes nothing
        // (no revision raised); a changed pool replaces it; pools list in ordinal order of id over pages; RemoveMinutePool
        // says whether it removed.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        var zone = Pool(tenant, "zone", 60, ["44", "33", "49"], ["GB", "FR"], CallType.ConferenceDialOut, PoolEntitlement.AudioConferencing);
        var stored = await directory.PutMinutePoolAsync(zone);
        stored.CoveredPrefixes.ShouldBe(["33", "44", "49"]);
        stored.UserCountries.ShouldBe(["FR", "GB"]);
        var revision = await RevisionAsync(gateway, tenant);

        var reordered = Pool(tenant, "zone", 60, ["49", "44", "33"], ["FR", "GB"], CallType.ConferenceDialOut, PoolEntitlement.AudioConferencing);
        (await directory.PutMinutePoolAsync(reordered)).ShouldBe(stored);
        (await RevisionAsync(gateway, tenant)).ShouldBe(revision);

        var changed = zone.Clone();
        changed.MinutesPerLicence = 120;
        changed.UserCountries.Clear();
        (await directory.PutMinutePoolAsync(changed)).MinutesPerLicence.ShouldBe(120u);
        (await RevisionAsync(gateway, tenant)).ShouldBe(revision + 1);

        foreach (var id in new[] { "b", "a", "Z" })
        {
            await directory.PutMinutePoolAsync(Pool(tenant, id, 10, ["1"]));
        }

        var first = await directory.ListMinutePoolsAsync(new ListMinutePoolsRequest { TenantId = tenant, PageSize = 3 });
        var second = await directory.ListMinutePoolsAsync(new ListMinutePoolsRequest { TenantId = tenant, PageSize = 3, PageToken = first.NextPageToken });
        first.Pools.Concat(second.Pools).Select(pool => pool.PoolId).ShouldBe(["Z", "a", "b", "zone"]);
        second.NextPageToken.ShouldBeEmpty();

        var remove = new RemoveMinutePoolRequest { TenantId = tenant, PoolId = "zone" };
        (await directory.RemoveMinutePoolAsync(remove)).Removed.ShouldBeTrue();
        (await directory.RemoveMinutePoolAsync(remove)).Removed.ShouldBeFalse();
        (await directory.ListMinutePoolsAsync(new ListMinutePoolsRequest { TenantId = tenant })).Pools.Select(pool => pool.PoolId).ShouldBe(["Z", "a", "b"]);
    }

    [Fact]
    public async Task A_pool_put_just_after_its_tenant_is_created_is_answered_although_the_gateway_remembered_the_tenant_as_unknown()
    {
        // Proves read-your-writes past the unknown-tenant memory: a charging request for a tenant that does not exist
        // yet makes the catalog remember it as unknown (Catalog:UnknownTenantCacheSeconds); once the tenant is created,
        // PutMinutePool still answers the stored pool instead of NOT_FOUND.
        var gateway = await SharedGateway.GetAsync();
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..12];
        var enquiry = new PriceEnquiryRequest { TenantId = tenant, CallType = CallType.OutboundPstn, CallingNumber = Calls.Caller, CalledNumber = Calls.UkFixed, Seconds = 60 };
        (await gateway.Charging.PriceEnquiryAsync(enquiry)).ResultCode.ShouldBe(ResultCode.UserUnknown);
        await gateway.Accounts.CreateTenantAsync(new CreateTenantRequest { TenantId = tenant, Currency = "EUR", DisplayName = "Late" });

        var pool = await Client(gateway).PutMinutePoolAsync(Pool(tenant, "gb", 100, ["44"]));
        pool.PoolId.ShouldBe("gb");
    }

    [Fact]
    public async Task Pool_limits_bad_fields_and_unknown_tenants_change_nothing()
    {
        // Proves Directory:MaxPoolsPerTenant (RESOURCE_EXHAUSTED naming it; replacing is still allowed), INVALID_ARGUMENT
        // naming a bad field, and NOT_FOUND for an unknown tenant, none of which stores anything.
        var shared = await SharedGateway.GetAsync();
        await using var gateway = await GatewayInstance.StartAlongsideAsync(shared, "--Directory:MaxPoolsPerTenant=1");
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        await directory.PutMinutePoolAsync(Pool(tenant, "only", 100, ["44"]));

        var full = await Should.ThrowAsync<RpcException>(() => directory.PutMinutePoolAsync(Pool(tenant, "second", 100, ["33"])));
        full.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        full.Status.Detail.ShouldContain("Directory:MaxPoolsPerTenant");
        (await directory.PutMinutePoolAsync(Pool(tenant, "only", 200, ["44"]))).MinutesPerLicence.ShouldBe(200u);

        var bad = await Should.ThrowAsync<RpcException>(() => directory.PutMinutePoolAsync(Pool(tenant, "only", 100, ["44"], ["UK"])));
        bad.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        bad.Status.Detail.ShouldStartWith("user_countries[0]");
        foreach (var call in new Func<Task>[]
        {
            () => directory.PutMinutePoolAsync(Pool("no-such-tenant", "p", 1, ["44"])),
            () => directory.ListMinutePoolsAsync(new ListMinutePoolsRequest { TenantId = "no-such-tenant" }),
            () => directory.RemoveMinutePoolAsync(new RemoveMinutePoolRequest { TenantId = "no-such-tenant", PoolId = "p" }),
        })
        {
            (await Should.ThrowAsync<RpcException>(call)).StatusCode.ShouldBe(StatusCode.NotFound);
        }

        var pools = await directory.ListMinutePoolsAsync(new ListMinutePoolsRequest { TenantId = tenant });
        pools.Pools.ShouldHaveSingleItem().MinutesPerLicence.ShouldBe(200u);
    }
}
