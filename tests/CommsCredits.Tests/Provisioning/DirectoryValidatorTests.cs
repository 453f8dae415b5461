namespace CommsCredits.Tests.Provisioning;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;
using Shouldly;
using Xunit;

/// <summary>The field checks of the Directory service, without a gateway.</summary>
public sealed class DirectoryValidatorTests
{
    public static PutUserRequest GoodUser() => new()
    {
        TenantId = "acme", UserId = "alice@acme.example", Upn = "Alice@acme.example", DisplayName = "Alice Åkesson",
        LocationCountry = "GB", CommunicationsCreditsLicence = true, CallingPlan = CallingPlan.Domestic, AudioConferencing = true,
    };

    public static PutMinutePoolRequest GoodPool()
    {
        var pool = new PutMinutePoolRequest
        {
            TenantId = "acme", PoolId = "gb-domestic", DisplayName = "UK minutes", CallType = CallType.OutboundPstn,
            Entitlement = PoolEntitlement.DomesticCallingPlan, MinutesPerLicence = 3_000,
        };
        pool.CoveredPrefixes.Add("44");
        pool.UserCountries.Add("GB");
        return pool;
    }

    public static TheoryData<string, PutUserRequest, string> BadUsers() => new()
    {
        { "no tenant", With(GoodUser(), u => u.TenantId = string.Empty), "tenant_id" },
        { "user id with a space", With(GoodUser(), u => u.UserId = "alice smith"), "user_id" },
        { "user id too long", With(GoodUser(), u => u.UserId = new string('u', 129)), "user_id" },
        { "upn without @", With(GoodUser(), u => u.Upn = "alice"), "upn" },
        { "upn with two @", With(GoodUser(), u => u.Upn = "alice@b@c"), "upn" },
        { "upn ending with @", With(GoodUser(), u => u.Upn = "alice@"), "upn" },
        { "upn starting with @", With(GoodUser(), u => u.Upn = "@acme.example"), "upn" },
        { "upn with a space", With(GoodUser(), u => u.Upn = "alice smith@acme.example"), "upn" },
        { "upn not ASCII", With(GoodUser(), u => u.Upn = "åsa@acme.example"), "upn" },
        { "upn too long", With(GoodUser(), u => u.Upn = new string('a', 250) + "@b.example"), "upn" },
        { "no display name", With(GoodUser(), u => u.DisplayName = string.Empty), "display_name" },
        { "display name too long", With(GoodUser(), u => u.DisplayName = new string('n', 201)), "display_name" },
        { "display name with a newline", With(GoodUser(), u => u.DisplayName = "Alice\nSmith"), "display_name" },
        { "country UK (reserved, not assigned)", With(GoodUser(), u => u.LocationCountry = "UK"), "location_country" },
        { "country in lower case", With(GoodUser(), u => u.LocationCountry = "gb"), "location_country" },
        { "country of three letters", With(GoodUser(), u => u.LocationCountry = "GBR"), "location_country" },
        { "no calling plan", With(GoodUser(), u => u.CallingPlan = CallingPlan.Unspecified), "calling_plan" },
        { "unknown calling plan", With(GoodUser(), u => u.CallingPlan = (CallingPlan)9), "calling_plan" },
    };

    public static TheoryData<string, PutMinutePoolRequest, string> BadPools() => new()
    {
        { "pool id with a space", With(GoodPool(), p => p.PoolId = "gb domestic"), "pool_id" },
        { "no pool id", With(GoodPool(), p => p.PoolId = string.Empty), "pool_id" },
        { "no display name", With(GoodPool(), p => p.DisplayName = string.Empty), "display_name" },
        { "toll-free pool", With(GoodPool(), p => p.CallType = CallType.TollFreeInbound), "call_type" },
        { "no call type", With(GoodPool(), p => p.CallType = CallType.Unspecified), "call_type" },
        { "no entitlement", With(GoodPool(), p => p.Entitlement = PoolEntitlement.Unspecified), "entitlement" },
        { "too many minutes", With(GoodPool(), p => p.MinutesPerLicence = 100_001), "minutes_per_licence" },
        { "no prefixes", With(GoodPool(), p => p.CoveredPrefixes.Clear()), "covered_prefixes" },
        { "too many prefixes", With(GoodPool(), p => p.CoveredPrefixes.Add(Enumerable.Range(100, 1_000).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)))), "covered_prefixes" },
        { "prefix with +", With(GoodPool(), p => p.CoveredPrefixes.Add("+33")), "covered_prefixes[1]" },
        { "prefix starting with 0", With(GoodPool(), p => p.CoveredPrefixes.Add("0044")), "covered_prefixes[1]" },
        { "prefix of 16 digits", With(GoodPool(), p => p.CoveredPrefixes.Add("1234567890123456")), "covered_prefixes[1]" },
        { "prefix twice", With(GoodPool(), p => p.CoveredPrefixes.Add("44")), "covered_prefixes[1]" },
        { "country UK", With(GoodPool(), p => p.UserCountries.Add("UK")), "user_countries[1]" },
        { "country twice", With(GoodPool(), p => p.UserCountries.Add("GB")), "user_countries[1]" },
    };

    [Fact]
    public void Good_requests_pass_and_a_pools_lists_are_stored_sorted()
    {
        // Proves the good requests are accepted, and that a pool's prefixes and countries are kept in ordinal order,
        // so the same pool sent in another order is the same pool.
        DirectoryValidator.PutUser(GoodUser());
        var pool = GoodPool();
        pool.CoveredPrefixes.Add(["49", "33"]);
        pool.UserCountries.Add("FR");
        var definition = DirectoryValidator.PutMinutePool(pool);
        definition.CoveredPrefixes.ShouldBe(["33", "44", "49"]);
        definition.UserCountries.ShouldBe(["FR", "GB"]);
    }

    [Theory]
    [MemberData(nameof(BadUsers))]
    public void A_bad_user_field_is_named(string because, PutUserRequest request, string field)
    {
        // Proves each malformed user field is refused with INVALID_ARGUMENT naming it.
        var error = Should.Throw<RpcException>(() => DirectoryValidator.PutUser(request), because);
        error.StatusCode.ShouldBe(StatusCode.InvalidArgument, because);
        error.Status.Detail.ShouldStartWith(field, Case.Sensitive, because);
    }

    [Theory]
    [MemberData(nameof(BadPools))]
    public void A_bad_pool_field_is_named(string because, PutMinutePoolRequest request, string field)
    {
        // Proves each malformed pool field is refused with INVALID_ARGUMENT naming it (and the list index).
        var error = Should.Throw<RpcException>(() => DirectoryValidator.PutMinutePool(request), because);
        error.StatusCode.ShouldBe(StatusCode.InvalidArgument, because);
        error.Status.Detail.ShouldStartWith(field, Case.Sensitive, because);
    }

    [Fact]
    public void Page_sizes_default_and_are_bounded_by_the_setting()
    {
        // Proves 0 means Directory:DefaultPageSize and a size above Directory:MaxPageSize is refused, naming both.
        var settings = new DirectoryOptions { DefaultPageSize = 50, MaxPageSize = 200 };
        DirectoryValidator.PageSize(0, settings).ShouldBe(50);
        DirectoryValidator.PageSize(200, settings).ShouldBe(200);
        var error = Should.Throw<RpcException>(() => DirectoryValidator.PageSize(201, settings));
        error.Status.Detail.ShouldContain("page_size");
        error.Status.Detail.ShouldContain("Directory:MaxPageSize");
        new DirectoryOptionsValidator().Validate(null, new DirectoryOptions { DefaultPageSize = 300, MaxPageSize = 200 }).Failed.ShouldBeTrue();
    }

    [Fact]
    public void Page_tokens_carry_the_last_key_and_anything_else_is_refused()
    {
        // Proves the token round trip (a full page gives the last key as the token, the last page none) and that a
        // token that is not base64url, or decodes to something that is not a key of the list, is INVALID_ARGUMENT.
        var users = new[] { new User { UserId = "a" }, new User { UserId = "b" }, new User { UserId = "c" } };
        var page = new ListUsersResponse();
        var token = ListPages.Fill(users, 2, page.Users, user => user.UserId);
        page.Users.Select(user => user.UserId).ShouldBe(["a", "b"]);
        ListPages.StartAfter(token, DirectoryValidator.IsUserId).ShouldBe("b");
        ListPages.Fill(users[2..], 2, new ListUsersResponse().Users, user => user.UserId).ShouldBeEmpty();
        ListPages.StartAfter(string.Empty, DirectoryValidator.IsUserId).ShouldBeEmpty();

        foreach (var bad in new[] { "not base64!", "YSBi" /* "a b" */, "_w" /* 0xFF, not UTF-8 */ })
        {
            var error = Should.Throw<RpcException>(() => ListPages.StartAfter(bad, DirectoryValidator.IsUserId), bad);
            error.StatusCode.ShouldBe(StatusCode.InvalidArgument);
            error.Status.Detail.ShouldStartWith("page_token");
        }
    }

    [Fact]
    public void A_page_ends_before_it_passes_one_mebibyte()
    {
        // Proves the byte bound: pools of about 17 KB each (1,000 prefixes of 15 digits) fill a page of at most 1 MiB
        // even when 1,000 were asked for, and the token then points after the last pool on the page.
        var pools = Enumerable.Range(0, 100).Select(index =>
        {
            var pool = new MinutePool { PoolId = "p" + index.ToString("D3", System.Globalization.CultureInfo.InvariantCulture) };
            pool.CoveredPrefixes.Add(Enumerable.Range(0, 1_000).Select(n => "1" + n.ToString("D14", System.Globalization.CultureInfo.InvariantCulture)));
            return pool;
        }).ToList();
        var page = new ListMinutePoolsResponse();
        page.NextPageToken = ListPages.Fill(pools, 1_000, page.Pools, pool => pool.PoolId);

        page.Pools.Count.ShouldBeInRange(2, 99);
        page.CalculateSize().ShouldBeLessThanOrEqualTo(ListPages.MaxPageBytes);
        ListPages.StartAfter(page.NextPageToken, key => key.Length > 0).ShouldBe(page.Pools[^1].PoolId);
    }

    [Fact]
    public void Only_assigned_country_codes_are_accepted()
    {
        // Proves the ISO 3166-1 list: 249 assigned codes, GB yes, UK and EU (reserved) no.
        var assigned = Enumerable.Range(0, 26 * 26).Select(index => $"{(char)('A' + (index / 26))}{(char)('A' + (index % 26))}").Count(CountryCode.IsAssigned);
        assigned.ShouldBe(249);
        CountryCode.IsAssigned("GB").ShouldBeTrue();
        CountryCode.IsAssigned("UK").ShouldBeFalse();
        CountryCode.IsAssigned("EU").ShouldBeFalse();
    }

    private static T With<T>(T message, Action<T> change)
        where T : IMessage
    {
        change(message);
        return message;
    }
}
