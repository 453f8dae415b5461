namespace CommsCredits.Tests.BalanceWatch;

using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.BalanceWatch;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

public sealed class BalanceWatchTests
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_watch_sends_the_balance_then_each_change_a_call_and_a_funding_make()
    {
        // Proves the stream: sequence 1 is the balance when the watch began; a Reserve shows as a hold, its Terminate
        // as the debit with the hold gone, an AddFunds as the funding, each with the next sequence number.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, first: 60, next: 60));
        var balances = new BalancesClient(gateway.Channel, gateway.AdminKey);
        using var watch = balances.Watch(new WatchBalanceRequest { TenantId = tenant });
        await using var changes = watch.GetAsyncEnumerator();

        var first = await NextAsync(changes);
        (first.Sequence, first.Balance.Balance_.AmountMicros, first.Balance.Held.AmountMicros, first.Balance.Balance_.Currency).ShouldBe((1UL, 10_000_000L, 0L, "EUR"));

        var session = NewSessionId();
        var grant = await gateway.Charging.ReserveAsync(Reserve(tenant, session, 120));
        var held = await NextAsync(changes);
        (held.Sequence, held.Balance.Balance_.AmountMicros, held.Balance.Held.AmountMicros).ShouldBe((2UL, 10_000_000L, grant.Reserved.AmountMicros));
        held.Balance.Held.AmountMicros.ShouldBeGreaterThan(0);

        await gateway.Charging.TerminateAsync(Terminate(tenant, session, 1, 30));
        var debited = await NextAsync(changes);
        (debited.Sequence, debited.Balance.Balance_.AmountMicros, debited.Balance.Held.AmountMicros).ShouldBe((3UL, 9_940_000L, 0L));

        await gateway.Accounts.AddFundsAsync(new AddFundsRequest { TenantId = tenant, Amount = new Money { AmountMicros = 50_000_000, Currency = "EUR" }, IdempotencyKey = "watch-1" });
        var funded = await NextAsync(changes);
        (funded.Sequence, funded.Balance.Balance_.AmountMicros, funded.Balance.Available.AmountMicros).ShouldBe((4UL, 59_940_000L, 59_940_000L));
        funded.ObservedAt.ToDateTimeOffset().ShouldBeGreaterThanOrEqualTo(first.ObservedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task Watches_share_a_tenant_loop_see_other_gateways_changes_are_bounded_and_end_when_the_gateway_stops()
    {
        // Proves the hub: two watches of one tenant poll it once; a debit served by another gateway reaches a watch
        // here; one watch beyond BalanceWatch:MaxWatchers is refused, and a watch that ends frees its place; an unknown
        // tenant is NOT_FOUND; a key scoped to another tenant is PERMISSION_DENIED; stopping ends the stream with UNAVAILABLE.
        await using var gateway = await GatewayInstance.StartAsync(null, "--BalanceWatch:MaxWatchers=2", "--BalanceWatch:IntervalMs=50");
        await using var other = await GatewayInstance.StartAlongsideAsync(gateway);
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, first: 60, next: 60));
        var hub = gateway.Services.GetRequiredService<BalanceWatchHub>();
        var balances = new BalancesClient(gateway.Channel, gateway.AdminKey);

        using var watchA = balances.Watch(new WatchBalanceRequest { TenantId = tenant });
        await using var changesA = watchA.GetAsyncEnumerator();
        (await NextAsync(changesA)).Sequence.ShouldBe(1UL);
        var watchB = balances.Watch(new WatchBalanceRequest { TenantId = tenant });
        var changesB = watchB.GetAsyncEnumerator();
        (await NextAsync(changesB)).Sequence.ShouldBe(1UL);
        (hub.Watchers, hub.WatchedTenants).ShouldBe((2, 1));
        var scraped = gateway.Services.GetRequiredService<GatewayMetrics>().Registry.Render();
        MetricsEndpointTests.Sample(scraped, "commscredits_balance_watchers").ShouldBe(2);
        MetricsEndpointTests.Sample(scraped, "commscredits_balance_watched_tenants").ShouldBe(1);

        var refused = await Should.ThrowAsync<RpcException>(() => FirstAsync(balances.Watch(new WatchBalanceRequest { TenantId = tenant })));
        refused.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        refused.Status.Detail.ShouldContain("BalanceWatch:MaxWatchers");

        await other.Charging.DebitAsync(new DebitRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller,
            CalledNumber = UkFixed, UsedSeconds = 30,
        });
        (await NextAsync(changesA)).Balance.Balance_.AmountMicros.ShouldBe(9_940_000L);

        await changesB.DisposeAsync();
        watchB.Dispose();
        await WatchersAsync(hub, 1);
        var unknown = await Should.ThrowAsync<RpcException>(() => FirstAsync(balances.Watch(new WatchBalanceRequest { TenantId = "no-such-tenant" })));
        unknown.StatusCode.ShouldBe(StatusCode.NotFound);
        var scopedKey = await gateway.CreateKeyAsync(ApiKeyRole.Admin, await gateway.CreateEmptyTenantAsync());
        var scoped = await Should.ThrowAsync<RpcException>(() => FirstAsync(new BalancesClient(gateway.Channel, scopedKey).Watch(new WatchBalanceRequest { TenantId = tenant })));
        scoped.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        await WatchersAsync(hub, 1);

        gateway.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var ended = await Should.ThrowAsync<RpcException>(() => NextAsync(changesA));
        ended.StatusCode.ShouldBe(StatusCode.Unavailable);
    }

    [Fact]
    public async Task A_watcher_that_does_not_read_gets_the_latest_balance_not_a_backlog()
    {
        // Proves coalescing: a subscription that takes nothing while three debits are seen one by one holds one
        // reading, the latest; there is nothing after it.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, first: 60, next: 60));
        var hub = gateway.Services.GetRequiredService<BalanceWatchHub>();
        using var subscription = hub.Subscribe(tenant);
        (await subscription.NextAsync(CancellationToken.None).AsTask().WaitAsync(ReadTimeout)).BalanceMicros.ShouldBe(10_000_000);
        for (var debit = 1; debit <= 3; debit++)
        {
            await gateway.Charging.DebitAsync(new DebitRequest
            {
                SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller,
                CalledNumber = UkFixed, UsedSeconds = 30,
            });
            // Longer than the interval (250 ms by default): the loop sees each debit on its own.
            await Task.Delay(600);
        }

        (await subscription.NextAsync(CancellationToken.None).AsTask().WaitAsync(ReadTimeout)).BalanceMicros.ShouldBe(10_000_000 - (3 * 60_000));
        var more = subscription.NextAsync(CancellationToken.None).AsTask();
        (await Task.WhenAny(more, Task.Delay(1_000))).ShouldNotBe(more);
    }

    private static async Task WatchersAsync(BalanceWatchHub hub, int expected)
    {
        // A watch the client ended leaves when the server sees the stream reset: soon, not at once.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (hub.Watchers != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        hub.Watchers.ShouldBe(expected);
    }

    private static async Task<BalanceChange> NextAsync(IAsyncEnumerator<BalanceChange> changes)
    {
        (await changes.MoveNextAsync().AsTask().WaitAsync(ReadTimeout)).ShouldBeTrue("the watch ended");
        return changes.Current;
    }

    private static async Task<BalanceChange> FirstAsync(ServerStreamingCall<BalanceChange> call)
    {
        using (call)
        {
            await using var changes = call.GetAsyncEnumerator();
            return await NextAsync(changes);
        }
    }
}
