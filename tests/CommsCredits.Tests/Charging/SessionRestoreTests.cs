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
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;
using static CommsCredits.Tests.Provisioning.Directories;

/// <summary>
/// Calls in progress survive the loss of Redis (docs/charging.md, "Rebuilding Redis from the ledger"): every step of an
/// open session is in the session journal before it is acknowledged, and the rebuild restores the session with its
/// usage, debits, hold, pool allotment, deadline and answers. Each test tries to lose or double a charge across the loss.
/// </summary>
public sealed class SessionRestoreTests
{
    private const long Euro = 1_000_000;

    [Fact]
    public async Task A_call_that_loses_Redis_midway_costs_exactly_what_an_uninterrupted_call_costs()
    {
        // Proves no money is lost with the hot state: the same call (60/1 increments, a connection fee) is made on two
        // tenants, one of which loses its Redis state after the first Update; both end with the same charges, call
        // records and balances, and the hold was restored in between.
        var gateway = await SharedGateway.GetAsync();
        var rate = Rate("44", 60_000, connectionFeeMicros: 10_000, first: 60, next: 1);
        var interrupted = await gateway.CreateTenantAsync(5 * Euro, rate);
        var control = await gateway.CreateTenantAsync(5 * Euro, rate);
        var results = new List<(uint Used, uint Billed, long Charged, long Balance)>();
        foreach (var tenant in new[] { interrupted, control })
        {
            var session = NewSessionId();
            (await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60))).ResultCode.ShouldBe(ResultCode.Success);
            (await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 59, 60))).ResultCode.ShouldBe(ResultCode.Success);
            var heldBefore = (await gateway.RedisAccountAsync(tenant))!.Value.Held;
            if (string.Equals(tenant, interrupted, StringComparison.Ordinal))
            {
                await gateway.LoseHotStateAsync(tenant);
                (await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant })).Balance.Held.AmountMicros.ShouldBe(heldBefore);
            }

            (await gateway.Charging.UpdateAsync(Update(tenant, session, 2, 61, 120))).ResultCode.ShouldBe(ResultCode.Success);
            var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 3, 7));
            var balance = await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant });
            results.Add((end.UsedSeconds, end.BilledSeconds, end.SessionCharged.AmountMicros, balance.Balance.Balance_.AmountMicros));
            balance.Balance.Held.AmountMicros.ShouldBe(0);
            await gateway.ShouldConserveMoneyAsync(tenant);
        }

        results[0].ShouldBe((127u, 127u, 10_000L + 127_000L, 5 * Euro - 137_000L));
        results[0].ShouldBe(results[1]);
        (await gateway.CallRecordsAsync(interrupted)).ShouldBe(await gateway.CallRecordsAsync(control));
        (await gateway.LedgerAsync(interrupted)).ShouldBe(await gateway.LedgerAsync(control));
    }

    [Fact]
    public async Task A_retry_of_an_Update_answered_before_Redis_was_lost_gets_the_same_answer_and_charges_nothing()
    {
        // Proves idempotency survives the rebuild: the network element never saw the answer to Update 1 and retries it
        // after the tenant's Redis state is gone; the restored session answers it from the journal. Its Reserve is
        // retried too. Then the call goes on and is charged once.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(5 * Euro, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();
        var reserved = await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        var first = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 90, 60));
        first.Charged.AmountMicros.ShouldBe(120_000);

        await gateway.LoseHotStateAsync(tenant);

        (await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 90, 60))).ShouldBe(first);
        (await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60))).ShouldBe(reserved);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(120_000);
        var changed = await Should.ThrowAsync<RpcException>(() => gateway.Charging.UpdateAsync(Update(tenant, session, 1, 91, 60)));
        changed.StatusCode.ShouldBe(StatusCode.FailedPrecondition);

        var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, 10));
        (end.UsedSeconds, end.SessionCharged.AmountMicros).ShouldBe((100u, 120_000L));
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, 10))).ShouldBe(end);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(120_000);
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((1L, 120_000L));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task An_Update_applied_in_Redis_but_never_durable_is_charged_once_when_retried_after_Redis_is_lost()
    {
        // Proves a rebuild sees only what the ledger committed: Update 2 is applied in Redis while PostgreSQL is down
        // (UNAVAILABLE, not acknowledged), then Redis is lost with it. The restored session does not know Update 2, so
        // the network element's retry is carried out once, and the call costs what its reported usage costs.
        await using var postgres = await PostgresServerProcess.StartAsync();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await StartOnOwnServersAsync(postgres.ConnectionString, redis.Configuration, QuickToGiveUpOnTheLedger);
        var tenant = await gateway.CreateTenantAsync(5 * Euro, Rate("44", 60_000, first: 60, next: 1));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        (await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 60, 60))).Charged.AmountMicros.ShouldBe(60_000);

        await postgres.StopAsync();
        var second = Update(tenant, session, 2, 30, 60);
        (await Should.ThrowAsync<RpcException>(() => gateway.Charging.UpdateAsync(second))).StatusCode.ShouldBe(StatusCode.Unavailable);
        await redis.StopAsync();
        await redis.StartAgainAsync();
        await postgres.StartAgainAsync();
        NpgsqlConnection.ClearAllPools();

        var retried = await Eventually.SucceedsAsync(() => gateway.Charging.UpdateAsync(second));
        (retried.Charged.AmountMicros, retried.SessionCharged.AmountMicros).ShouldBe((30_000L, 90_000L));
        var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 3, 15));
        (end.UsedSeconds, end.SessionCharged.AmountMicros).ShouldBe((105u, 105_000L));
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        (await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM ledger_entries WHERE tenant_id = @tenant AND session_id = @session AND request_number = 2", new { tenant, session })).ShouldBe(1);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(105_000);
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((1L, 105_000L));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_call_started_while_PostgreSQL_was_down_becomes_restorable_with_its_first_Update()
    {
        // Proves the bounded durability of Reserve: while PostgreSQL is down a Reserve is granted from Redis without
        // its opening in the ledger; the first Update after PostgreSQL is back writes the opening before its own step,
        // so a Redis loss after that still restores the call.
        await using var postgres = await PostgresServerProcess.StartAsync();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await StartOnOwnServersAsync(postgres.ConnectionString, redis.Configuration, QuickToGiveUpOnTheLedger);
        var tenant = await gateway.CreateTenantAsync(5 * Euro, Rate("44", 60_000, first: 60, next: 1));
        (await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.Success);
        await postgres.StopAsync();
        // A first debit fails: from then on the gateway knows the ledger is down and Reserve does not wait for it.
        await Should.ThrowAsync<RpcException>(() => gateway.Charging.DebitAsync(new DebitRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller,
            CalledNumber = UkFixed, UsedSeconds = 10,
        }));

        var session = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60))).ResultCode.ShouldBe(ResultCode.Success);
        await postgres.StartAgainAsync();
        NpgsqlConnection.ClearAllPools();
        await Eventually.SucceedsAsync(() => gateway.Charging.UpdateAsync(Update(tenant, session, 1, 60, 60)));
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            (await connection.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM session_steps WHERE tenant_id = @tenant AND session_id = @session", new { tenant, session })).ShouldBe(2);
        }

        await redis.StopAsync();
        await redis.StartAgainAsync();

        var after = await Eventually.SucceedsAsync(() => gateway.Charging.UpdateAsync(Update(tenant, session, 2, 60, 60)));
        (after.ResultCode, after.SessionCharged.AmountMicros).ShouldBe((ResultCode.Success, 120_000L));
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 3, 0))).SessionCharged.AmountMicros.ShouldBe(120_000);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_restored_call_keeps_its_included_minutes_held()
    {
        // Proves pool holds are rebuilt: a call holds 120 s of a 120 s pool; after the rebuild another call gets nothing
        // from the pool (it goes to credit), and the restored call uses its pool seconds without paying.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(5 * Euro, Rate("44", Euro, first: 60, next: 60));
        await gateway.Directory.PutUserAsync(User(tenant, "dora", CallingPlan.Domestic));
        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "gb", 2, ["44"], ["GB"]));
        await gateway.DirectoryLoadedAsync(tenant);
        var session = NewSessionId();
        var pooled = await gateway.Charging.ReserveAsync(ByUser("dora", Reserve(tenant, session, 120)));
        (pooled.GrantedSeconds, pooled.GrantedIncludedSeconds).ShouldBe((120u, 120u));

        await gateway.LoseHotStateAsync(tenant);

        var other = await gateway.Charging.ReserveAsync(ByUser("dora", Reserve(tenant, NewSessionId(), 60)));
        (other.GrantedIncludedSeconds, other.Reserved.AmountMicros).ShouldBe((0u, Euro));
        var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 1, 100));
        (end.IncludedSeconds, end.SessionCharged.AmountMicros).ShouldBe((100u, 0L));
        var counters = await gateway.Redis.HashGetAsync(HotStateKeys.Account(tenant), ["pu:gb", "ph:gb"]);
        ((long)counters[0], (long)counters[1]).ShouldBe((100L, 0L));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_restored_call_that_goes_silent_is_closed_by_the_supervisor_with_its_hold_released()
    {
        // Proves the supervision deadline is restored: the restored session is not closed before its deadline, and is
        // closed once after it, releasing the restored hold and writing its call record. (A gateway of its own: the
        // test moves its clock, and runs its supervisor by hand.)
        await using var gateway = await StartAsync(null, "--Supervision:Enabled=false");
        var tenant = await gateway.CreateTenantAsync(5 * Euro, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 60, 60));
        await gateway.LoseHotStateAsync(tenant);
        (await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant })).Balance.Held.AmountMicros.ShouldBe(60_000);
        var supervisor = gateway.Services.GetRequiredService<SessionSupervisor>();

        (await supervisor.SuperviseTenantAsync(tenant, CancellationToken.None)).ShouldBe(0);
        gateway.Clock.Advance(TimeSpan.FromHours(1));
        (await supervisor.SuperviseTenantAsync(tenant, CancellationToken.None)).ShouldBe(1);
        (await supervisor.SuperviseTenantAsync(tenant, CancellationToken.None)).ShouldBe(0);

        (await gateway.RedisAccountAsync(tenant))!.Value.Held.ShouldBe(0);
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((1L, 60_000L));
        (await StepsAsync(gateway, tenant)).ShouldBe(0);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_finished_call_is_never_restored_even_when_a_late_step_of_it_reaches_the_journal()
    {
        // Proves the call record ends a session for good: a Terminate removes the session's steps; a step of the same
        // session that commits afterwards (an Update that was in flight beside the Terminate) is not restored by a
        // rebuild, holds nothing, and is purged by the supervisor's round (run by hand here) once it is older than
        // SessionJournal.PurgeAge (the test ages it), not before.
        await using var gateway = await StartAsync(null, "--Supervision:Enabled=false");
        var tenant = await gateway.CreateTenantAsync(5 * Euro, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 30, 60));
        var opening = await OpeningOfAsync(gateway, tenant, session);
        await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, 30));
        (await StepsAsync(gateway, tenant)).ShouldBe(0);

        var late = new Settlement(tenant, opening.Epoch, 1_000_000, DateTimeOffset.UtcNow, null, null, null)
        {
            Step = new SessionStep(SessionStepKind.Opening, opening.Epoch, opening.Number, session, "0", 0, 0, 0, 0, 60_000, 60, DateTimeOffset.UtcNow.AddHours(1), opening.Answer, opening.Fields),
        };
        (await gateway.Services.GetRequiredService<SettlementWriter>().WriteAsync(late, CancellationToken.None)).ShouldBe(SettlementOutcome.Committed);
        (await StepsAsync(gateway, tenant)).ShouldBe(1);
        await gateway.LoseHotStateAsync(tenant);

        (await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant })).Balance.Held.AmountMicros.ShouldBe(0);
        (await gateway.Charging.UpdateAsync(Update(tenant, session, 3, 30, 60))).ResultCode.ShouldBe(ResultCode.UnknownSessionId);
        var supervisor = gateway.Services.GetRequiredService<SessionSupervisor>();
        await supervisor.SuperviseAsync(CancellationToken.None);
        (await StepsAsync(gateway, tenant)).ShouldBe(1, "a purge reads only steps older than SessionJournal.PurgeAge");
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            await connection.ExecuteAsync(
                "UPDATE session_steps SET recorded_at = recorded_at - @age WHERE tenant_id = @tenant", new { age = SessionJournal.PurgeAge + TimeSpan.FromMinutes(1), tenant });
        }

        await supervisor.SuperviseAsync(CancellationToken.None);
        (await StepsAsync(gateway, tenant)).ShouldBe(0);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(60_000);
    }

    [Fact]
    public async Task Hundreds_of_calls_in_progress_are_all_restored_and_each_settles_exactly()
    {
        // Proves the rebuild restores more sessions than fit in one script call (they go in chunks), with the holds of
        // all of them, and every call then terminates with the charge of its own usage.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(100 * Euro, Rate("44", 60_000, first: 1, next: 1));
        var sessions = Enumerable.Range(0, 400).Select(_ => NewSessionId()).ToArray();
        await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (session, _) =>
        {
            await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
            for (var request = 1u; request <= 3; request++)
            {
                await gateway.Charging.UpdateAsync(Update(tenant, session, request, 20, 60));
            }
        });
        var before = (await gateway.RedisAccountAsync(tenant))!.Value;

        await gateway.LoseHotStateAsync(tenant);

        (await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant })).Balance.Held.AmountMicros.ShouldBe(before.Held);
        await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (session, _) =>
        {
            var end = await gateway.Charging.TerminateAsync(Terminate(tenant, session, 4, 5));
            (end.ResultCode, end.UsedSeconds, end.SessionCharged.AmountMicros).ShouldBe((ResultCode.Success, 65u, 65_000L));
        });
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((400L, 400L * 65_000));
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((100 * Euro - 400L * 65_000, 0L));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_tenant_at_its_limit_of_calls_in_progress_gets_RESOURCE_EXHAUSTED_for_another()
    {
        // Proves Charging:MaxOpenSessionsPerTenant bounds a tenant's sessions (and so what a rebuild restores): the third
        // call is refused naming the setting, holds nothing, and a new call is granted once one has ended.
        await using var gateway = await StartAsync(null, "--Charging:MaxOpenSessionsPerTenant=2", "--Supervision:Enabled=false");
        var tenant = await gateway.CreateTenantAsync(5 * Euro, Rate("44", 60_000, first: 60, next: 60));
        var first = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, first, 60));
        await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60));

        var refused = await Should.ThrowAsync<RpcException>(() => gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60)));
        refused.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        refused.Status.Detail.ShouldContain("Charging:MaxOpenSessionsPerTenant");
        (await gateway.RedisAccountAsync(tenant))!.Value.Held.ShouldBe(120_000);

        await gateway.Charging.TerminateAsync(Terminate(tenant, first, 1, 10));
        (await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.Success);
    }

    private static ReserveRequest ByUser(string userId, ReserveRequest request)
    {
        request.UserId = userId;
        return request;
    }

    private static async Task<long> StepsAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM session_steps WHERE tenant_id = @tenant", new { tenant });
    }

    private static async Task<(long Epoch, long Number, string Answer, string Fields)> OpeningOfAsync(GatewayInstance gateway, string tenant, string session)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.QuerySingleAsync<(long, long, string, string)>(
            "SELECT session_epoch, session_number, answer, opening FROM session_steps WHERE tenant_id = @tenant AND session_id = @session AND step = 1",
            new { tenant, session });
    }
}
