namespace CommsCredits.Tests.Provisioning;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Provisioning.Directories;

/// <summary>AssignTollFreeNumber, ReleaseTollFreeNumber and ListTollFreeNumbers: one owner per number, globally.</summary>
public sealed class TollFreeNumberTests
{
    [Fact]
    public async Task A_number_owned_by_one_tenant_cannot_be_assigned_to_another_until_released()
    {
        // Proves global ownership: assigning again to the owner is idempotent (same assigned_at); another tenant gets
        // ALREADY_EXISTS without learning the owner, and cannot release it; once the owner releases it, the other
        // tenant can take it.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        var owner = await gateway.CreateTenantAsync(0);
        var other = await gateway.CreateTenantAsync(0);
        var number = UniqueNumber();

        var assigned = await directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = owner, Number = number });
        assigned.TenantId.ShouldBe(owner);
        (await directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = owner, Number = number })).ShouldBe(assigned);

        var taken = await Should.ThrowAsync<RpcException>(() => directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = other, Number = number }));
        taken.StatusCode.ShouldBe(StatusCode.AlreadyExists);
        taken.Status.Detail.ShouldNotContain(owner);
        (await directory.ReleaseTollFreeNumberAsync(new ReleaseTollFreeNumberRequest { TenantId = other, Number = number })).Released.ShouldBeFalse();
        (await directory.ListTollFreeNumbersAsync(new ListTollFreeNumbersRequest { TenantId = owner })).Numbers.ShouldBe([assigned]);

        (await directory.ReleaseTollFreeNumberAsync(new ReleaseTollFreeNumberRequest { TenantId = owner, Number = number })).Released.ShouldBeTrue();
        (await directory.ReleaseTollFreeNumberAsync(new ReleaseTollFreeNumberRequest { TenantId = owner, Number = number })).Released.ShouldBeFalse();
        (await directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = other, Number = number })).TenantId.ShouldBe(other);
        (await directory.ListTollFreeNumbersAsync(new ListTollFreeNumbersRequest { TenantId = owner })).Numbers.ShouldBeEmpty();
    }

    [Fact]
    public async Task Tenants_racing_for_one_number_end_with_exactly_one_owner()
    {
        // Proves the race between tenants (who do not share a lock): 8 tenants assign the same number at once, 5 times
        // each; one tenant wins every one of its calls, every other call is ALREADY_EXISTS, and the table holds one row.
        var gateway = await SharedGateway.GetAsync();
        var directory = Client(gateway);
        var tenants = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => gateway.CreateTenantAsync(0)));
        var number = UniqueNumber();

        var outcomes = await Task.WhenAll(tenants.SelectMany(tenant => Enumerable.Range(0, 5).Select(async _ =>
        {
            try
            {
                return (Tenant: tenant, Owner: (await directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = tenant, Number = number })).TenantId);
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.AlreadyExists)
            {
                return (Tenant: tenant, Owner: (string?)null);
            }
        })));

        var winners = outcomes.Where(outcome => outcome.Owner is not null).Select(outcome => outcome.Tenant).Distinct(StringComparer.Ordinal).ToList();
        winners.Count.ShouldBe(1);
        outcomes.Count(outcome => string.Equals(outcome.Tenant, winners[0], StringComparison.Ordinal)).ShouldBe(5);
        outcomes.Where(outcome => outcome.Owner is not null).ShouldAllBe(outcome => outcome.Owner == winners[0]);
        var listed = await Task.WhenAll(tenants.Select(tenant => directory.ListTollFreeNumbersAsync(new ListTollFreeNumbersRequest { TenantId = tenant })));
        listed.Sum(page => page.Numbers.Count).ShouldBe(1);
    }

    [Fact]
    public async Task The_number_limit_paging_and_bad_input()
    {
        // Proves Directory:MaxTollFreeNumbersPerTenant (RESOURCE_EXHAUSTED naming it, nothing stored), paging of the
        // numbers in order, INVALID_ARGUMENT for a number that is not E.164, and NOT_FOUND for an unknown tenant.
        var shared = await SharedGateway.GetAsync();
        await using var gateway = await GatewayInstance.StartAlongsideAsync(shared, "--Directory:MaxTollFreeNumbersPerTenant=3");
        var directory = Client(gateway);
        var tenant = await gateway.CreateTenantAsync(0);
        var numbers = Enumerable.Range(0, 4).Select(_ => UniqueNumber()).ToList();
        foreach (var number in numbers.Take(3))
        {
            await directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = tenant, Number = number });
        }

        var full = await Should.ThrowAsync<RpcException>(() => directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = tenant, Number = numbers[3] }));
        full.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        full.Status.Detail.ShouldContain("Directory:MaxTollFreeNumbersPerTenant");

        var first = await directory.ListTollFreeNumbersAsync(new ListTollFreeNumbersRequest { TenantId = tenant, PageSize = 2 });
        var second = await directory.ListTollFreeNumbersAsync(new ListTollFreeNumbersRequest { TenantId = tenant, PageSize = 2, PageToken = first.NextPageToken });
        second.NextPageToken.ShouldBeEmpty();
        first.Numbers.Concat(second.Numbers).Select(number => number.Number).ShouldBe(numbers.Take(3).Order(StringComparer.Ordinal));

        var bad = await Should.ThrowAsync<RpcException>(() => directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = tenant, Number = "08000000001" }));
        bad.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        bad.Status.Detail.ShouldStartWith("number");
        var unknown = await Should.ThrowAsync<RpcException>(() => directory.ListTollFreeNumbersAsync(new ListTollFreeNumbersRequest { TenantId = "no-such-tenant" }));
        unknown.StatusCode.ShouldBe(StatusCode.NotFound);
    }

    /// <summary>A UK freephone number no other test uses (the table is shared by every tenant of the database).</summary>
    private static string UniqueNumber() => "+44800" + Random.Shared.NextInt64(1_000_000, 10_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
