namespace CommsCredits.Tests.Provisioning;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Tenants;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

/// <summary>The in-memory directory the charging path reads: users, toll-free numbers, and which pool covers a call.</summary>
public sealed class TenantDirectoryTests
{
    private const string UkMobile = "+447700900123";
    private const string UkFixed = "+442079460000";

    [Fact]
    public void The_longest_covered_prefix_wins()
    {
        // Proves longest-prefix choice: "44" and "447" both cover a UK mobile number, and "447" takes it; a UK fixed
        // number only matches "44"; a French number matches neither.
        var directory = Directory(Pool("uk", ["44"]), Pool("uk-mobile", ["447"]));
        var alice = User("alice", CallingPlan.Domestic);

        directory.FindPool(CallType.OutboundPstn, UkMobile, alice)!.PoolId.ShouldBe("uk-mobile");
        directory.FindPool(CallType.OutboundPstn, UkFixed, alice)!.PoolId.ShouldBe("uk");
        directory.FindPool(CallType.OutboundPstn, "+33142680000", alice).ShouldBeNull();
    }

    [Fact]
    public void Pools_with_the_same_prefix_are_chosen_by_ordinal_pool_id()
    {
        // Proves the tie rule is ordinal, not cultural: "B" (0x42) comes before "a" (0x61), which a culture-aware
        // comparison would put first; and the order pools are given in does not matter.
        var directory = Directory(Pool("b", ["44"]), Pool("a", ["44"]), Pool("B", ["44"]));
        directory.FindPool(CallType.OutboundPstn, UkFixed, User("alice", CallingPlan.Domestic))!.PoolId.ShouldBe("B");
        directory.Pools.Select(pool => pool.PoolId).ShouldBe(["B", "a", "b"]);
    }

    [Theory]
    [InlineData(CallingPlan.None, false, false, false)]
    [InlineData(CallingPlan.Domestic, true, false, false)]
    [InlineData(CallingPlan.DomesticAndInternational, true, true, false)]
    [InlineData(CallingPlan.PayAsYouGo, false, false, false)]
    public void Calling_plans_entitle_users_to_calling_plan_pools(CallingPlan plan, bool domestic, bool international, bool conferencing)
    {
        // Proves the entitlement rules for each calling plan: domestic pools serve DOMESTIC and
        // DOMESTIC_AND_INTERNATIONAL, international pools only DOMESTIC_AND_INTERNATIONAL, and no plan gives
        // conferencing minutes.
        var directory = Directory(
            Pool("domestic", ["44"], entitlement: PoolEntitlement.DomesticCallingPlan),
            Pool("international", ["1"], entitlement: PoolEntitlement.InternationalCallingPlan),
            Pool("conferencing", ["49"], CallType.OutboundPstn, PoolEntitlement.AudioConferencing));
        var user = User("u", plan);

        (directory.FindPool(CallType.OutboundPstn, UkFixed, user) is not null).ShouldBe(domestic);
        (directory.FindPool(CallType.OutboundPstn, "+14155550100", user) is not null).ShouldBe(international);
        (directory.FindPool(CallType.OutboundPstn, "+4930123456", user) is not null).ShouldBe(conferencing);
    }

    [Fact]
    public void Conferencing_pools_serve_users_with_audio_conferencing_and_only_their_call_type()
    {
        // Proves the audio-conferencing entitlement, and that a pool covers only calls of its own call type.
        var directory = Directory(Pool("zone-a", ["44", "33", "49"], CallType.ConferenceDialOut, PoolEntitlement.AudioConferencing));
        var licensed = User("alice", CallingPlan.None, conferencing: true);
        var unlicensed = User("bob", CallingPlan.DomesticAndInternational);

        directory.FindPool(CallType.ConferenceDialOut, "+33142680000", licensed)!.PoolId.ShouldBe("zone-a");
        directory.FindPool(CallType.ConferenceDialOut, "+33142680000", unlicensed).ShouldBeNull();
        directory.FindPool(CallType.OutboundPstn, "+33142680000", licensed).ShouldBeNull();
        directory.FindPool(CallType.TollFreeInbound, "+33142680000", licensed).ShouldBeNull();
        directory.FindPool(CallType.Unspecified, "+33142680000", licensed).ShouldBeNull();
    }

    [Fact]
    public void A_pool_serves_users_of_its_countries_and_an_empty_list_means_any_country()
    {
        // Proves the user_countries rule, and that a longer prefix whose pool does not serve the user does not hide a
        // shorter one that does: a US user calling a UK mobile falls back to the any-country pool on "44".
        var directory = Directory(Pool("gb-mobile", ["447"], countries: ["GB"]), Pool("anywhere", ["44"]));
        var inLondon = User("alice", CallingPlan.Domestic, country: "GB");
        var inBoston = User("bob", CallingPlan.Domestic, country: "US");

        directory.FindPool(CallType.OutboundPstn, UkMobile, inLondon)!.PoolId.ShouldBe("gb-mobile");
        directory.FindPool(CallType.OutboundPstn, UkMobile, inBoston)!.PoolId.ShouldBe("anywhere");
    }

    [Fact]
    public void Pool_sizes_count_the_entitled_users_of_the_pools_countries()
    {
        // Proves size = minutes_per_licence × 60 × entitled users in the countries: 2 of 4 users count for the GB
        // domestic pool (the US one and the pay-as-you-go one do not), 3 for the any-country pool; a pool of 0 minutes
        // still covers its prefix, with a size of 0.
        var users = new[]
        {
            User("a", CallingPlan.Domestic, country: "GB"),
            User("b", CallingPlan.DomesticAndInternational, country: "GB"),
            User("c", CallingPlan.Domestic, country: "US"),
            User("d", CallingPlan.PayAsYouGo, country: "GB"),
        };
        var directory = new TenantDirectory(
            7,
            users,
            [],
            [Pool("gb", ["44"], countries: ["GB"], minutes: 3_000), Pool("all", ["1"], minutes: 100), Pool("mobiles", ["447"], countries: ["GB"], minutes: 0)]);

        var sizes = directory.Pools.ToDictionary(pool => pool.PoolId, pool => (pool.LicensedUsers, pool.SizeSeconds), StringComparer.Ordinal);
        sizes["gb"].ShouldBe((2, 3_000L * 60 * 2));
        sizes["all"].ShouldBe((3, 100L * 60 * 3));
        sizes["mobiles"].ShouldBe((2, 0L));
        directory.FindPool(CallType.OutboundPstn, UkMobile, users[0])!.PoolId.ShouldBe("mobiles");
        directory.Revision.ShouldBe(7);
    }

    [Fact]
    public void Users_and_toll_free_numbers_are_found_by_exact_id()
    {
        // Proves the lookups are exact and ordinal: another letter case is another user; a number is owned only as given.
        var directory = new TenantDirectory(1, [User("Alice@Example.com", CallingPlan.None)], ["+448000000001"], []);

        directory.TryGetUser("Alice@Example.com", out var user).ShouldBeTrue();
        user.CallingPlan.ShouldBe(CallingPlan.None);
        directory.TryGetUser("alice@example.com", out _).ShouldBeFalse();
        directory.OwnsTollFreeNumber("+448000000001").ShouldBeTrue();
        directory.OwnsTollFreeNumber("+448000000002").ShouldBeFalse();
    }

    [Fact]
    public void Bad_data_is_refused_when_a_directory_is_built()
    {
        // Proves the checks on data read back from PostgreSQL: a duplicate user, an unspecified calling plan, a
        // malformed number, a pool with a non-digit prefix, a toll-free pool, and a non-E.164 called number.
        Should.Throw<ArgumentException>(() => new TenantDirectory(1, [User("a", CallingPlan.None), User("a", CallingPlan.Domestic)], [], []));
        Should.Throw<ArgumentException>(() => new TenantDirectory(1, [User("a", CallingPlan.Unspecified)], [], []));
        Should.Throw<ArgumentException>(() => new TenantDirectory(1, [], ["448000000001"], []));
        Should.Throw<ArgumentException>(() => new TenantDirectory(1, [], [], [Pool("p", ["4x"])]));
        Should.Throw<ArgumentException>(() => new TenantDirectory(1, [], [], [Pool("p", ["44"], CallType.TollFreeInbound)]));
        Should.Throw<ArgumentException>(() => Directory(Pool("p", ["44"])).FindPool(CallType.OutboundPstn, "442079460000", User("a", CallingPlan.Domestic)));
    }

    [Fact]
    public void Finding_a_pool_allocates_nothing()
    {
        // Proves the hot-path claim: after warm-up, 10,000 lookups (hits and misses) allocate no bytes.
        var directory = Directory(Pool("uk", ["44"]), Pool("uk-mobile", ["447"], countries: ["GB"]), Pool("zone", ["33", "49"], CallType.ConferenceDialOut, PoolEntitlement.AudioConferencing));
        var alice = User("alice", CallingPlan.Domestic, conferencing: true);
        var found = 0;
        void Lookups(int count)
        {
            for (var index = 0; index < count; index++)
            {
                found += directory.FindPool(CallType.OutboundPstn, UkMobile, alice) is null ? 0 : 1;
                found += directory.FindPool(CallType.ConferenceDialOut, "+4930123456", alice) is null ? 0 : 1;
                found += directory.FindPool(CallType.OutboundPstn, "+14155550100", alice) is null ? 0 : 1;
            }
        }

        Lookups(100);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Lookups(10_000);
        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
        found.ShouldBe(2 * 10_100);
    }

    [Fact]
    public void FindPool_agrees_with_a_plain_reading_of_the_rule()
    {
        // Proves FindPool against a reference that scans every pool: of the pools of the call type that serve the
        // user and cover the number, the longest covered prefix, then the lowest pool id (ordinal). Prefixes,
        // countries and ids are drawn from small sets so that overlaps and ties are common.
        var pools = Gen.ListOf(PoolGen()).Select(list => list.DistinctBy(pool => pool.PoolId, StringComparer.Ordinal).ToList());
        var cases = from poolList in pools
                    from user in UserGen()
                    from callType in Gen.Elements(CallType.OutboundPstn, CallType.ConferenceDialOut)
                    from number in Gen.Elements("+447700900123", "+442079460000", "+4930123456", "+33142680000", "+14155550100")
                    select (poolList, user, callType, number);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2_000), Prop.ForAll(cases.ToArbitrary(), testCase =>
        {
            var (poolList, user, callType, number) = testCase;
            var directory = new TenantDirectory(1, [user], [], poolList);
            return string.Equals(directory.FindPool(callType, number, user)?.PoolId, Reference(poolList, user, callType, number), StringComparison.Ordinal);
        }));
    }

    private static string? Reference(List<MinutePoolDefinition> pools, DirectoryUser user, CallType callType, string number)
    {
        var digits = number[1..];
        return pools
            .Where(pool => pool.CallType == callType && user.IsEntitledTo(pool.Entitlement))
            .Where(pool => pool.UserCountries.Count == 0 || pool.UserCountries.Contains(user.LocationCountry, StringComparer.Ordinal))
            .SelectMany(pool => pool.CoveredPrefixes.Where(prefix => digits.StartsWith(prefix, StringComparison.Ordinal)).Select(prefix => (pool.PoolId, prefix.Length)))
            .OrderByDescending(match => match.Length)
            .ThenBy(match => match.PoolId, StringComparer.Ordinal)
            .Select(match => match.PoolId)
            .FirstOrDefault();
    }

    private static Gen<MinutePoolDefinition> PoolGen() =>
        from id in Gen.Elements("a", "b", "B", "c", "zone-1", "zone-2")
        from callType in Gen.Elements(CallType.OutboundPstn, CallType.ConferenceDialOut)
        from entitlement in Gen.Elements(PoolEntitlement.DomesticCallingPlan, PoolEntitlement.InternationalCallingPlan, PoolEntitlement.AudioConferencing)
        from prefixes in Gen.NonEmptyListOf(Gen.Elements("4", "44", "447", "4477", "4420", "3", "33", "49", "1", "415"))
        from countries in Gen.ListOf(Gen.Elements("GB", "US", "FR"))
        select new MinutePoolDefinition(
            id, "Pool " + id, callType, entitlement, 10, [.. prefixes.Distinct(StringComparer.Ordinal)], [.. countries.Distinct(StringComparer.Ordinal)]);

    private static Gen<DirectoryUser> UserGen() =>
        from plan in Gen.Elements(CallingPlan.None, CallingPlan.Domestic, CallingPlan.DomesticAndInternational, CallingPlan.PayAsYouGo)
        from conferencing in Gen.Elements(true, false)
        from country in Gen.Elements("GB", "US", "FR", "DE")
        select new DirectoryUser("user", country, true, plan, conferencing);

    private static TenantDirectory Directory(params MinutePoolDefinition[] pools) => new(1, [], [], pools);

    private static DirectoryUser User(string id, CallingPlan plan, string country = "GB", bool conferencing = false) =>
        new(id, country, CommunicationsCreditsLicence: true, plan, conferencing);

    private static MinutePoolDefinition Pool(
        string id,
        string[] prefixes,
        CallType callType = CallType.OutboundPstn,
        PoolEntitlement entitlement = PoolEntitlement.DomesticCallingPlan,
        string[]? countries = null,
        int minutes = 1_000) =>
        new(id, "Pool " + id, callType, entitlement, minutes, prefixes, countries ?? []);
}
