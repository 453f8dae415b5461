namespace CommsCredits.Tests.Ledger;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Tests.Charging;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>Concurrent settlements share transactions, within the batch size limit, on connections of their own.</summary>
public sealed class GroupCommitTests
{
    [Fact]
    public async Task Concurrent_debits_are_committed_in_shared_transactions_no_larger_than_the_limit()
    {
        // Proves group commit happens: 300 debit events at once reach the ledger in fewer transactions than
        // settlements, no transaction holds more than Settlement:MaxBatchSize (16 here), and every one is in the ledger.
        await using var gateway = await GatewayInstance.StartAsync(null, "--Settlement:MaxBatchSize=16", "--Settlement:MaxBatchWaitMs=2");
        var tenant = await gateway.CreateTenantAsync(100_000_000, Rate("44", 60_000, first: 1, next: 1));
        var writer = gateway.Services.GetRequiredService<SettlementWriter>();
        var batchesBefore = writer.BatchesCommitted;
        var settlementsBefore = writer.SettlementsCommitted;

        var answers = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => gateway.Charging.DebitAsync(new DebitRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, UserId = "load@example.com", CallType = CallType.OutboundPstn,
            CallingNumber = Caller, CalledNumber = UkFixed, UsedSeconds = 1,
        })));

        answers.ShouldAllBe(answer => answer.ResultCode == ResultCode.Success && answer.Charged.AmountMicros == 1_000);
        var batches = writer.BatchesCommitted - batchesBefore;
        var settlements = writer.SettlementsCommitted - settlementsBefore;
        settlements.ShouldBe(300);
        batches.ShouldBeLessThan(300);
        batches.ShouldBeGreaterThanOrEqualTo(300 / 16);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(300_000);
    }

    [Fact]
    public async Task A_call_is_charged_while_every_connection_of_the_gateway_s_pool_is_taken()
    {
        // Proves that the settlement writers have connections of their own: with Storage:PostgresMaxPoolSize at 2 and both
        // taken (as long reports, a reconciliation or rebuilds take them), a call's Reserve and Terminate are answered
        // 2001 and its debit is in the ledger. Before, the writers waited for the same pool past
        // Settlement:CommitTimeoutMs and the Terminate failed UNAVAILABLE: the debit waited behind the reports.
        await using var gateway = await GatewayInstance.StartAsync(null, "--Storage:PostgresMaxPoolSize=2", "--Supervision:Enabled=false");
        var tenant = await gateway.CreateTenantAsync(100_000_000, Rate("44", 60_000, first: 60, next: 60));
        var warm = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, warm, 60))).ResultCode.ShouldBe(ResultCode.Success);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, warm, 1, usedSeconds: 10))).ResultCode.ShouldBe(ResultCode.Success);

        var pool = gateway.Services.GetRequiredService<NpgsqlDataSource>();
        var session = NewSessionId();
        await using (var report = await pool.OpenConnectionAsync())
        await using (var rebuild = await pool.OpenConnectionAsync())
        {
            (await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60))).ResultCode.ShouldBe(ResultCode.Success);
            var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 1, usedSeconds: 70));
            end.ResultCode.ShouldBe(ResultCode.Success);
            end.SessionCharged.AmountMicros.ShouldBe(120_000);
        }

        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(180_000);
    }
}
