namespace CommsCredits.Tests.Provisioning;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Provisioning.Directories;

/// <summary>PutUser, GetUser, ListUsers and RemoveUser against a real gateway and PostgreSQL.</summary>
public sealed class DirectoryUserTests
{
    [Fact]
    public async Task A_user_is_created_replaced_and_an_identical_put_changes_nothing()
    {
        // Proves PutUser's create-or-replace: the user reads back as put; the same put again returns the stored user
        // unchanged (same updated_at) without raising the directory revision; a changed field replaces it, keeps
        // created_at, moves updated_at and raises the revision once.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        var put = User(tenant, "alice@acme.example", CallingPlan.DomesticAndInternational, conferencing: true);

        var created = await directory.PutUserAsync(put);
        created.UserId.ShouldBe("alice@acme.example");
        created.CallingPlan.ShouldBe(CallingPlan.DomesticAndInternational);
        created.AudioConferencing.ShouldBeTrue();
        (await directory.GetUserAsync(new GetUserRequest { TenantId = tenant, UserId = put.UserId })).ShouldBe(created);
        var revision = await RevisionAsync(gateway, tenant);

        (await directory.PutUserAsync(put)).ShouldBe(created);
        (await RevisionAsync(gateway, tenant)).ShouldBe(revision);

        var replacement = put.Clone();
        replacement.CallingPlan = CallingPlan.PayAsYouGo;
        replacement.DisplayName = "Alice Smith";
        var replaced = await directory.PutUserAsync(replacement);
        replaced.CallingPlan.ShouldBe(CallingPlan.PayAsYouGo);
        replaced.DisplayName.ShouldBe("Alice Smith");
        replaced.CreatedAt.ShouldBe(created.CreatedAt);
        replaced.UpdatedAt.ToDateTimeOffset().ShouldBeGreaterThan(created.UpdatedAt.ToDateTimeOffset());
        (await RevisionAsync(gateway, tenant)).ShouldBe(revision + 1);
    }

    [Fact]
    public async Task A_upn_names_one_user_of_a_tenant_whatever_its_letter_case()
    {
        // Proves UPN uniqueness per tenant, case-insensitively: another user of the tenant cannot take it in another
        // case (ALREADY_EXISTS, nothing stored), the owner may change its case, and another tenant may use it.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        var other = await gateway.CreateTenantAsync(0);
        var alice = User(tenant, "alice");
        alice.Upn = "Alice@Acme.example";
        await directory.PutUserAsync(alice);

        var bob = User(tenant, "bob");
        bob.Upn = "alice@acme.EXAMPLE";
        var error = await Should.ThrowAsync<RpcException>(() => directory.PutUserAsync(bob));
        error.StatusCode.ShouldBe(StatusCode.AlreadyExists);
        error.Status.Detail.ShouldContain("upn");
        error.Status.Detail.ShouldContain("'alice'");
        (await Should.ThrowAsync<RpcException>(() => directory.GetUserAsync(new GetUserRequest { TenantId = tenant, UserId = "bob" }))).StatusCode.ShouldBe(StatusCode.NotFound);

        alice.Upn = "alice@acme.example";
        (await directory.PutUserAsync(alice)).Upn.ShouldBe("alice@acme.example");
        bob.TenantId = other;
        (await directory.PutUserAsync(bob)).Upn.ShouldBe("alice@acme.EXAMPLE");
    }

    [Fact]
    public async Task Unknown_tenants_and_users_are_not_found_and_removal_says_whether_it_removed()
    {
        // Proves NOT_FOUND for an unknown tenant on every user RPC and for an unknown user on GetUser, and that
        // RemoveUser is safe to retry: true the first time, false after, and the user is gone.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        const string nobody = "no-such-tenant";
        foreach (var call in new Func<Task>[]
        {
            () => directory.PutUserAsync(User(nobody, "alice")),
            () => directory.GetUserAsync(new GetUserRequest { TenantId = nobody, UserId = "alice" }),
            () => directory.ListUsersAsync(new ListUsersRequest { TenantId = nobody }),
            () => directory.RemoveUserAsync(new RemoveUserRequest { TenantId = nobody, UserId = "alice" }),
        })
        {
            var error = await Should.ThrowAsync<RpcException>(call);
            error.StatusCode.ShouldBe(StatusCode.NotFound);
            error.Status.Detail.ShouldContain(nobody);
        }

        var tenant = await gateway.CreateTenantAsync(0);
        await directory.PutUserAsync(User(tenant, "alice"));
        var unknownUser = await Should.ThrowAsync<RpcException>(() => directory.GetUserAsync(new GetUserRequest { TenantId = tenant, UserId = "bob" }));
        unknownUser.StatusCode.ShouldBe(StatusCode.NotFound);
        unknownUser.Status.Detail.ShouldContain("'bob'");

        var remove = new RemoveUserRequest { TenantId = tenant, UserId = "alice" };
        (await directory.RemoveUserAsync(remove)).Removed.ShouldBeTrue();
        (await directory.RemoveUserAsync(remove)).Removed.ShouldBeFalse();
        (await Should.ThrowAsync<RpcException>(() => directory.GetUserAsync(new GetUserRequest { TenantId = tenant, UserId = "alice" }))).StatusCode.ShouldBe(StatusCode.NotFound);
    }

    [Fact]
    public async Task Bad_fields_are_refused_naming_the_field_and_change_nothing()
    {
        // Proves validation through the wire: each bad request gets INVALID_ARGUMENT naming its field, and neither
        // the stored user nor the directory revision changes.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        var stored = await directory.PutUserAsync(User(tenant, "alice"));
        var revision = await RevisionAsync(gateway, tenant);

        var bad = new (PutUserRequest Request, string Field)[]
        {
            (With(u => u.LocationCountry = "UK"), "location_country"),
            (With(u => u.CallingPlan = CallingPlan.Unspecified), "calling_plan"),
            (With(u => u.Upn = "alice"), "upn"),
            (With(u => u.DisplayName = string.Empty), "display_name"),
            (With(u => u.TenantId = "bad tenant"), "tenant_id"),
        };
        foreach (var (request, field) in bad)
        {
            var error = await Should.ThrowAsync<RpcException>(() => directory.PutUserAsync(request), field);
            error.StatusCode.ShouldBe(StatusCode.InvalidArgument);
            error.Status.Detail.ShouldStartWith(field);
        }

        var page = await Should.ThrowAsync<RpcException>(() => directory.ListUsersAsync(new ListUsersRequest { TenantId = tenant, PageSize = 1_001 }));
        page.Status.Detail.ShouldContain("Directory:MaxPageSize");
        var token = await Should.ThrowAsync<RpcException>(() => directory.ListUsersAsync(new ListUsersRequest { TenantId = tenant, PageToken = "%%%" }));
        token.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        token.Status.Detail.ShouldStartWith("page_token");

        (await directory.GetUserAsync(new GetUserRequest { TenantId = tenant, UserId = "alice" })).ShouldBe(stored);
        (await RevisionAsync(gateway, tenant)).ShouldBe(revision);

        PutUserRequest With(Action<PutUserRequest> change)
        {
            var request = User(tenant, "alice");
            change(request);
            return request;
        }
    }

    [Fact]
    public async Task Paging_returns_every_user_exactly_once_in_ordinal_order_while_others_change()
    {
        // Proves keyset paging: 230 users whose ids mix letter cases and punctuation come back exactly once each, in
        // ordinal order, over pages of 17, although between pages other users are added and removed; a page of the
        // default size holds 100.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        var stable = Enumerable.Range(0, 230).Select(index => (index % 3) switch
        {
            0 => $"user{index:D3}",
            1 => $"User{index:D3}",
            _ => $"_u.{index:D3}@x",
        }).ToList();
        await Task.WhenAll(stable.Chunk(23).Select(async chunk =>
        {
            foreach (var userId in chunk)
            {
                await directory.PutUserAsync(User(tenant, userId));
            }
        }));

        var seen = new List<string>();
        var token = string.Empty;
        var pages = 0;
        do
        {
            var page = await directory.ListUsersAsync(new ListUsersRequest { TenantId = tenant, PageSize = 17, PageToken = token });
            page.Users.Count.ShouldBeLessThanOrEqualTo(17);
            seen.AddRange(page.Users.Select(user => user.UserId));
            token = page.NextPageToken;
            await directory.PutUserAsync(User(tenant, $"churn-{pages}"));
            await directory.RemoveUserAsync(new RemoveUserRequest { TenantId = tenant, UserId = $"churn-{pages - 1}" });
            pages++;
        }
        while (token.Length > 0 && pages < 100);

        var listedStable = seen.Where(id => !id.StartsWith("churn-", StringComparison.Ordinal)).ToList();
        listedStable.ShouldBe(stable.Order(StringComparer.Ordinal).ToList());
        seen.Distinct(StringComparer.Ordinal).Count().ShouldBe(seen.Count);
        seen.ShouldBe(seen.Order(StringComparer.Ordinal).ToList());
        (await directory.ListUsersAsync(new ListUsersRequest { TenantId = tenant })).Users.Count.ShouldBe(100);
    }

    [Fact]
    public async Task The_user_limit_refuses_new_users_but_not_replacements()
    {
        // Proves Directory:MaxUsersPerTenant: at the limit a new user gets RESOURCE_EXHAUSTED naming the setting and
        // is not stored, while an existing user may still be replaced.
        var shared = await SharedGateway.GetAsync();
        await using var gateway = await GatewayInstance.StartAlongsideAsync(shared, "--Directory:MaxUsersPerTenant=2");
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        await directory.PutUserAsync(User(tenant, "a"));
        await directory.PutUserAsync(User(tenant, "b"));

        var error = await Should.ThrowAsync<RpcException>(() => directory.PutUserAsync(User(tenant, "c")));
        error.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        error.Status.Detail.ShouldContain("Directory:MaxUsersPerTenant");
        (await directory.PutUserAsync(User(tenant, "b", CallingPlan.None))).CallingPlan.ShouldBe(CallingPlan.None);
        (await directory.ListUsersAsync(new ListUsersRequest { TenantId = tenant })).Users.Select(user => user.UserId).ShouldBe(["a", "b"]);
    }
}
