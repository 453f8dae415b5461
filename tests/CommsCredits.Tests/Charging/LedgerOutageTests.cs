namespace CommsCredits.Tests.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Tests.Ledger;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Infrastructure;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// PostgreSQL unavailable (docs/charging.md, "Failures"): new calls are still granted from Redis for
/// Settlement:MaxLedgerOutageSeconds, a debit that cannot reach the ledger is never acknowledged, and once PostgreSQL
/// is back the network element's retry is acknowledged with the debit counted once.
/// </summary>
public sealed class LedgerOutageTests
{
    [Fact]
    public async Task While_PostgreSQL_is_down_calls_start_for_a_bounded_time_no_debit_is_acknowledged_and_retries_afterwards_count_once()
    {
        await using var postgres = await PostgresServerProcess.StartAsync();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await StartOnOwnServersAsync(postgres.ConnectionString, redis.Configuration, [.. QuickToGiveUpOnTheLedger, "--Settlement:MaxLedgerOutageSeconds=30"]);
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", 60_000, first: 60, next: 1));
        var open = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, open, 60))).ResultCode.ShouldBe(ResultCode.Success);

        await postgres.StopAsync();

        // A new call is granted from Redis; a debit is not acknowledged.
        var during = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, during, 60))).ResultCode.ShouldBe(ResultCode.Success);
        var update = Update(tenant, open, 1, usedSeconds: 60, requestedSeconds: 60);
        (await Should.ThrowAsync<RpcException>(async () => await gateway.Charging.UpdateAsync(update))).StatusCode.ShouldBe(StatusCode.Unavailable);
        var terminate = Terminate(tenant, during, 1, usedSeconds: 30);
        (await Should.ThrowAsync<RpcException>(async () => await gateway.Charging.TerminateAsync(terminate))).StatusCode.ShouldBe(StatusCode.Unavailable);

        // Past the bound, new calls are refused too, naming the setting; the calls in progress are not cut.
        gateway.Clock.Advance(TimeSpan.FromSeconds(31));
        var refused = await Should.ThrowAsync<RpcException>(async () => await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60)));
        refused.StatusCode.ShouldBe(StatusCode.Unavailable);
        refused.Status.Detail.ShouldContain("Settlement:MaxLedgerOutageSeconds");

        await postgres.StartAgainAsync();
        // The test's own pooled connections died with the server (the gateway's recover by themselves).
        Npgsql.NpgsqlConnection.ClearAllPools();

        // The network element retries the same requests: each is acknowledged once, with its first answer.
        var updated = await Eventually.SucceedsAsync(() => gateway.Charging.UpdateAsync(update));
        updated.Charged.AmountMicros.ShouldBe(60_000);
        var terminated = await Eventually.SucceedsAsync(() => gateway.Charging.TerminateAsync(terminate));
        terminated.SessionCharged.AmountMicros.ShouldBe(60_000);
        (await gateway.Charging.UpdateAsync(update)).Charged.AmountMicros.ShouldBe(60_000);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, open, 2, usedSeconds: 0))).SessionCharged.AmountMicros.ShouldBe(60_000);

        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(120_000);
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((2L, 120_000L));
        (await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.Success);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_settlement_the_ledger_refuses_is_no_outage_and_does_not_stop_new_calls()
    {
        // A constraint the ledger enforces (billed seconds below used) fails that one request, but PostgreSQL answered:
        // new calls must go on being granted however long no other batch commits.
        await using var gateway = await StartAsync(null, "--Settlement:MaxLedgerOutageSeconds=30", "--Supervision:Enabled=false");
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", 60_000, first: 60, next: 1));
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var epoch = await connection.ExecuteScalarAsync<long>("SELECT hot_epoch FROM tenants WHERE tenant_id = @tenant", new { tenant });
        var broken = LedgerBatchStoreTests.Call(sessionNumber: 1_000_000) with { UsedSeconds = 100, BilledSeconds = 50 };
        var refused = new Settlement(tenant, epoch, 1_000_000, LedgerBatchStoreTests.Now, LedgerBatchStoreTests.Debit(-60_000), null, broken);
        var writer = gateway.Services.GetRequiredService<SettlementWriter>();

        await Should.ThrowAsync<CommsCredits.Gateway.Storage.StorageUnavailableException>(() => writer.WriteAsync(refused, CancellationToken.None));

        writer.LedgerFailingFor.ShouldBe(TimeSpan.Zero);
        gateway.Clock.Advance(TimeSpan.FromSeconds(31));
        (await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.Success);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(0);
    }
}
