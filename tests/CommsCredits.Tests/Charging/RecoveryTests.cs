namespace CommsCredits.Tests.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Supervision;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using StackExchange.Redis;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// Lost Redis state, a gateway that died between Redis and the ledger, and a ledger that moved to another epoch: the
/// balance always comes back to exactly what the ledger says, and nothing is charged twice. Each test has its own
/// Redis server, because it empties it.
/// </summary>
public sealed class RecoveryTests
{
    [Fact]
    public async Task A_restarted_empty_Redis_is_rebuilt_from_the_ledger_exactly()
    {
        // Proves invariant 5: after Redis restarts empty, the balance is the ledger's, the session in progress is restored
        // from the session journal with its hold, nothing is lost or doubled, and charging goes on (the restored call and
        // a new one).
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await GatewayInstance.StartAsync(redis.Configuration);
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", 60_000, first: 60, next: 60));
        var finished = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, finished, 60));
        await gateway.Charging.TerminateAsync(Terminate(tenant, finished, 1, 90));
        var open = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, open, 120));
        var before = await gateway.LedgerAsync(tenant);
        before.Sum.ShouldBe(5_000_000 - 120_000);

        await redis.StopAsync();
        await redis.StartAgainAsync();

        var balance = await Eventually.SucceedsAsync(() => gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant }));
        balance.Balance.Balance_.AmountMicros.ShouldBe(before.Sum);
        balance.Balance.Held.AmountMicros.ShouldBe(120_000);
        var updated = await gateway.Charging.UpdateAsync(Update(tenant, open, 1, 60, 60));
        updated.ResultCode.ShouldBe(ResultCode.Success);
        updated.Charged.AmountMicros.ShouldBe(60_000);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, open, 2, 30))).SessionCharged.AmountMicros.ShouldBe(120_000);

        var next = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, next, 60))).ResultCode.ShouldBe(ResultCode.Success);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, next, 1, 30))).SessionCharged.AmountMicros.ShouldBe(60_000);
        var after = await gateway.LedgerAsync(tenant);
        after.Sum.ShouldBe(before.Sum - 120_000 - 60_000);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((after.Sum, 0L));
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((3L, 300_000L));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_Redis_that_comes_back_with_an_old_snapshot_is_rebuilt_from_the_ledger_not_trusted()
    {
        // Proves the incarnation check: Redis saves a snapshot, the gateway then debits, funds and answers more (all
        // acknowledged, all in the ledger), and Redis restarts from the old snapshot, which knows none of it. Trusted,
        // it would reuse operation numbers the ledger holds (the next debits would be taken for written ones, and lost)
        // and show the old balance. Instead the stale account is dropped and rebuilt: balances, the call in progress and
        // every later debit are exactly the ledger's, and a retry of an Update answered after the snapshot gets its answer.
        // A call open in the snapshot and finished after it comes back open in Redis, dead (of the old state): the
        // supervisor deletes it, without charging or recording it again.
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await GatewayInstance.StartAsync(redis.Configuration, "--Supervision:Enabled=false");
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 60, 60));
        var finishedLater = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, finishedLater, 60));
#pragma warning disable CS0618 // SAVE in the foreground is the point: the snapshot is on disk when it returns.
        await gateway.Redis.Multiplexer.GetServer(gateway.Redis.Multiplexer.GetEndPoints()[0]).SaveAsync(SaveType.ForegroundSave);
#pragma warning restore CS0618

        var afterSnapshot = await gateway.Charging.UpdateAsync(Update(tenant, session, 2, 60, 60));
        afterSnapshot.Charged.AmountMicros.ShouldBe(60_000);
        var other = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, other, 60));
        await gateway.Charging.TerminateAsync(Terminate(tenant, other, 1, 120));
        await gateway.Charging.TerminateAsync(Terminate(tenant, finishedLater, 1, 60));
        await gateway.Accounts.AddFundsAsync(new AddFundsRequest { TenantId = tenant, Amount = new Money { AmountMicros = 1_000_000, Currency = "EUR" }, IdempotencyKey = "after-snapshot" });
        var before = await gateway.LedgerAsync(tenant);
        before.Sum.ShouldBe(6_000_000 - 120_000 - 120_000 - 60_000);

        await redis.StopAsync();
        await redis.StartAgainAsync();

        var balance = await Eventually.SucceedsAsync(() => gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant }));
        (balance.Balance.Balance_.AmountMicros, balance.Balance.Held.AmountMicros).ShouldBe((before.Sum, 60_000L));
        (await gateway.Charging.UpdateAsync(Update(tenant, session, 2, 60, 60))).ShouldBe(afterSnapshot);
        var debit = await gateway.Charging.DebitAsync(new DebitRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller,
            CalledNumber = UkFixed, UsedSeconds = 30,
        });
        debit.Charged.AmountMicros.ShouldBe(60_000);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 3, 10))).SessionCharged.AmountMicros.ShouldBe(180_000);

        var after = await gateway.LedgerAsync(tenant);
        (after.Sum, after.Debited).ShouldBe((before.Sum - 120_000, 420_000L));
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((4L, 120_000L + 60_000L + 60_000L + 180_000L));
        await gateway.ShouldConserveMoneyAsync(tenant);

        var stale = HotStateKeys.Session(tenant, finishedLater);
        ((string?)await gateway.Redis.HashGetAsync(stale, "state")).ShouldBe("open");
        var supervisor = gateway.Services.GetRequiredService<SessionSupervisor>();
        gateway.Clock.Advance(TimeSpan.FromHours(1));
        (await supervisor.SuperviseTenantAsync(tenant, CancellationToken.None)).ShouldBe(0);
        (await gateway.Redis.KeyExistsAsync(stale)).ShouldBeFalse();
        (await gateway.Redis.SortedSetLengthAsync(HotStateKeys.SessionDeadlines(tenant))).ShouldBe(0);
        ((await gateway.LedgerAsync(tenant)).Sum, await gateway.CallRecordsAsync(tenant)).ShouldBe((after.Sum, (4L, 420_000L)));
        gateway.Errors.Entries.ShouldBeEmpty();
        // Redis did come back with the snapshot's state: the check found the tenant's account there, built in another process.
        gateway.Errors.Warnings.ShouldContain(warning => warning.Contains("1 of its 1 tenant accounts were built in another dataset", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_settlement_left_pending_by_a_dead_gateway_reaches_the_ledger_once()
    {
        // Proves the sweeper: a script applies a debit in Redis and the gateway "dies" before writing it (we run the
        // script directly and never settle it). The sweeper writes it, even with an unreadable record elsewhere; a
        // retry of the same request by the network element is answered from Redis and does not charge again; Redis
        // and the ledger agree.
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await GatewayInstance.StartAsync(redis.Configuration, "--Settlement:SweepMinimumAgeSeconds=1", "--Settlement:SweepIntervalSeconds=3600");
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        var update = Update(tenant, session, 1, usedSeconds: 60, requestedSeconds: 60);
        var fingerprint = CommsCredits.Gateway.Charging.RequestFingerprint.Of("Update", "60", "60", "0");
        var store = gateway.Services.GetRequiredService<IHotStore>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var reply = await store.RunAsync(
            HotScriptName.Usage,
            [HotStateKeys.Account(tenant), HotStateKeys.Session(tenant, session), HotStateKeys.Pending(tenant), HotStateKeys.Lots(tenant), HotStateKeys.LotExpiry(tenant),
             HotStateKeys.SessionDeadlines(tenant)],
            ["1", fingerprint, now, "60", "60", "900", "604800", "0", "0", "3600", "10000", CommsCredits.Gateway.Ledger.SettlementCodec.FormatMonth(DateTimeOffset.UtcNow), string.Empty, string.Empty,
             "1800000", string.Empty, session],
            CancellationToken.None);
        reply[0].ShouldBe("ok");
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(0);
        (await gateway.PendingCountAsync(tenant)).ShouldBe(1);

        // A record no one can read sits beside it (in another tenant's pending hash): it must not stop the sweep.
        await gateway.Redis.HashSetAsync(HotStateKeys.Pending("corrupt-tenant"), "1", "12:not a settlement");

        await Task.Delay(1_100);
        var swept = await gateway.Services.GetRequiredService<PendingSettlementSweeper>().SweepOnceAsync(CancellationToken.None);

        swept.ShouldBe(1);
        gateway.Errors.Entries.ShouldHaveSingleItem().ShouldContain(HotStateKeys.Pending("corrupt-tenant"));
        (await gateway.Redis.HashLengthAsync(HotStateKeys.Pending("corrupt-tenant"))).ShouldBe(1);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(60_000);
        // The writer removes a settlement's pending copy just after its commit, not before the sweep returns.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await gateway.PendingCountAsync(tenant) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        (await gateway.PendingCountAsync(tenant)).ShouldBe(0);
        var retried = await gateway.Charging.UpdateAsync(update);
        retried.Charged.AmountMicros.ShouldBe(60_000);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(60_000);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, 0))).SessionCharged.AmountMicros.ShouldBe(60_000);
        var ledger = await gateway.LedgerAsync(tenant);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((ledger.Sum, 0L));
    }

    [Fact]
    public async Task A_debit_applied_under_an_epoch_the_ledger_has_left_is_refused_not_acknowledged_and_not_counted()
    {
        // Proves the epoch fence: when the ledger's epoch for a tenant moves on (another gateway rebuilt the tenant),
        // a debit applied in Redis under the old epoch is refused by the ledger, the client gets UNAVAILABLE, and the
        // next request rebuilds the balance from the ledger, which does not contain the refused debit; the client's
        // retry is then carried out once on the restored session.
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await GatewayInstance.StartAsync(redis.Configuration);
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            await connection.ExecuteAsync("UPDATE tenants SET hot_epoch = nextval('hot_epochs') WHERE tenant_id = @tenant", new { tenant });
        }

        var refused = await Should.ThrowAsync<RpcException>(() => gateway.Charging.UpdateAsync(Update(tenant, session, 1, 60, 60)));
        refused.StatusCode.ShouldBe(StatusCode.Unavailable);
        (await gateway.RedisAccountAsync(tenant)).ShouldBeNull();

        var balance = await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant });
        balance.Balance.Balance_.AmountMicros.ShouldBe(5_000_000);
        (await gateway.LedgerAsync(tenant)).Sum.ShouldBe(5_000_000);
        // The session's opening was in the ledger: the rebuild restored it, and the retried Update is charged once.
        var retried = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 60, 60));
        retried.ResultCode.ShouldBe(ResultCode.Success);
        retried.Charged.AmountMicros.ShouldBe(60_000);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(60_000);
        gateway.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_Redis_too_slow_for_a_sweep_is_storage_unavailable_not_a_crash_of_the_sweeper()
    {
        // Proves the sweeper's SCAN is bounded like every other command: with Redis stopped (SIGSTOP) a sweep fails
        // with StorageUnavailableException, which the sweeper's loop logs and retries, instead of a raw timeout that
        // ended the background service (and the host with it). Once Redis continues, the gateway charges as before.
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await GatewayInstance.StartAsync(redis.Configuration, "--Storage:RedisTimeoutMs=300", "--Settlement:SweepIntervalSeconds=3600");
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", 60_000));
        var pid = redis.ProcessId!.Value;
        CommsCredits.Tests.Infrastructure.Internal.UnixProcesses.TrySignal(pid, CommsCredits.Tests.Infrastructure.Internal.UnixProcesses.SignalStop);
        try
        {
            await Should.ThrowAsync<CommsCredits.Gateway.Storage.StorageUnavailableException>(
                () => gateway.Services.GetRequiredService<PendingSettlementSweeper>().SweepOnceAsync(CancellationToken.None));
        }
        finally
        {
            CommsCredits.Tests.Infrastructure.Internal.UnixProcesses.TrySignal(pid, CommsCredits.Tests.Infrastructure.Internal.UnixProcesses.SignalContinue);
        }

        var check = await Eventually.SucceedsAsync(() => gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant }));
        check.Balance.Balance_.AmountMicros.ShouldBe(5_000_000);
        gateway.Errors.Entries.ShouldBeEmpty();
    }
}
