namespace CommsCredits.Tests.Supervision;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Supervision;
using CommsCredits.Tests.Charging;
using Dapper;
using CommsCredits.Grpc.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// Session supervision (Tcc): a session not heard from within validity plus grace is closed by the gateway, once, with
/// its hold released and its call record written. Validity is 60 s here, so a session is due 120 s after its last
/// request; the tests move the gateway's clock and run supervision rounds themselves (the timer's interval is an hour).
/// </summary>
public sealed class SessionSupervisionTests(SessionSupervisionTests.SupervisedGateway fixture) : IClassFixture<SessionSupervisionTests.SupervisedGateway>
{
    private const string Settings = "--Charging:ValiditySeconds=60";

    [Fact]
    public async Task A_silent_session_is_closed_after_validity_plus_grace_its_hold_released_and_only_reported_usage_charged()
    {
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000, first: 60, next: 1));
        var session = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60))).ResultCode.ShouldBe(ResultCode.Success);
        gateway.Clock.Advance(TimeSpan.FromSeconds(50));
        var update = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 45, requestedSeconds: 60));
        update.Charged.AmountMicros.ShouldBe(60_000);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((940_000L, 45_000L));

        // 119 s after the Update (169 s after the Reserve): not yet due.
        gateway.Clock.Advance(TimeSpan.FromSeconds(119));
        (await SuperviseAsync(gateway, tenant)).ShouldBe(0);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((940_000L, 45_000L));

        gateway.Clock.Advance(TimeSpan.FromSeconds(2));
        (await SuperviseAsync(gateway, tenant)).ShouldBe(1);
        (await SuperviseAsync(gateway, tenant)).ShouldBe(0);

        (await gateway.RedisAccountAsync(tenant)).ShouldBe((940_000L, 0L));
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(60_000);
        var record = await CallRecordAsync(gateway, tenant, session);
        record.ShouldBe((TerminationCause.SupervisionTimeout, 45L, 60_000L));
        await gateway.ShouldConserveMoneyAsync(tenant);

        // The network element comes back too late: the session is gone, and nothing more is charged.
        (await gateway.Charging.UpdateAsync(Update(tenant, session, 2, usedSeconds: 60, requestedSeconds: 60))).ResultCode.ShouldBe(ResultCode.UnknownSessionId);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 3, usedSeconds: 30))).ResultCode.ShouldBe(ResultCode.UnknownSessionId);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(60_000);
        (await gateway.CallRecordsAsync(tenant)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_session_that_keeps_reporting_is_never_closed()
    {
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000, first: 60, next: 1));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        for (uint request = 1; request <= 3; request++)
        {
            gateway.Clock.Advance(TimeSpan.FromSeconds(100));
            (await SuperviseAsync(gateway, tenant)).ShouldBe(0);
            (await gateway.Charging.UpdateAsync(Update(tenant, session, request, usedSeconds: 60, requestedSeconds: 60))).ResultCode.ShouldBe(ResultCode.Success);
        }

        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 4, usedSeconds: 10))).SessionCharged.AmountMicros.ShouldBe(190_000);
        (await CallRecordAsync(gateway, tenant, session)).Cause.ShouldBe(TerminationCause.Logout);
        gateway.Clock.Advance(TimeSpan.FromSeconds(1_000));
        (await SuperviseAsync(gateway, tenant)).ShouldBe(0);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_session_heard_from_after_it_was_listed_as_due_is_not_closed()
    {
        // The list of due sessions is read before each is closed; an Update in between must win.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000, first: 60, next: 1));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        gateway.Clock.Advance(TimeSpan.FromSeconds(121));
        var charging = gateway.Services.GetRequiredService<CommsCredits.Gateway.Charging.SessionCharging>();
        (await charging.DueSessionsAsync(tenant, 10, CancellationToken.None)).ShouldBe([session]);

        (await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 60, requestedSeconds: 60))).ResultCode.ShouldBe(ResultCode.Success);

        (await charging.CloseIfSilentAsync(tenant, session, CancellationToken.None)).ShouldBeFalse();
        (await charging.DueSessionsAsync(tenant, 10, CancellationToken.None)).ShouldBeEmpty();
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, usedSeconds: 5))).SessionCharged.AmountMicros.ShouldBe(65_000);
        (await CallRecordAsync(gateway, tenant, session)).Cause.ShouldBe(TerminationCause.Logout);
    }

    [Fact]
    public async Task Two_gateways_supervising_the_same_sessions_close_each_exactly_once()
    {
        var first = fixture.Gateway;
        await using var second = await StartAlongsideAsync(first, Settings, "--Supervision:IntervalSeconds=3600");
        var tenant = await first.CreateTenantAsync(10_000_000, Rate("44", 60_000, first: 60, next: 1));
        var sessions = Enumerable.Range(0, 20).Select(_ => NewSessionId()).ToList();
        foreach (var session in sessions)
        {
            (await first.Charging.ReserveAsync(Reserve(tenant, session, 60))).ResultCode.ShouldBe(ResultCode.Success);
            (await first.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 30, requestedSeconds: 60))).ResultCode.ShouldBe(ResultCode.Success);
        }

        first.Clock.Advance(TimeSpan.FromSeconds(121));
        second.Clock.Advance(TimeSpan.FromSeconds(121));
        var rounds = await Task.WhenAll(
            Enumerable.Range(0, 4).Select(i => Task.Run(() => SuperviseAsync(i % 2 == 0 ? first : second, tenant))));

        rounds.Sum().ShouldBe(sessions.Count);
        var records = await CallRecordsBySessionAsync(first, tenant);
        records.Count.ShouldBe(sessions.Count);
        records.Values.ShouldAllBe(count => count == 1);
        (await first.RedisAccountAsync(tenant)).ShouldBe((10_000_000L - (20 * 60_000L), 0L));
        (await first.LedgerAsync(tenant)).Debited.ShouldBe(20 * 60_000L);
        await first.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_late_Terminate_racing_the_supervisor_ends_each_call_once_and_charges_it_once()
    {
        // Each session is either terminated by its network element (and charged its 90 s) or closed by the supervisor
        // (and charged the 30 s reported before): never both, never neither.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, first: 60, next: 1));
        var sessions = Enumerable.Range(0, 30).Select(_ => NewSessionId()).ToList();
        foreach (var session in sessions)
        {
            await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
            await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 30, requestedSeconds: 60));
        }

        gateway.Clock.Advance(TimeSpan.FromSeconds(121));
        var terminations = sessions.Select(session => Task.Run(() => gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, usedSeconds: 60)))).ToList();
        var supervised = await SuperviseAsync(gateway, tenant);
        var answers = await Task.WhenAll(terminations);

        var terminated = answers.Count(answer => answer.ResultCode == ResultCode.Success);
        (terminated + supervised).ShouldBe(sessions.Count);
        answers.Where(answer => answer.ResultCode != ResultCode.Success).ShouldAllBe(answer => answer.ResultCode == ResultCode.UnknownSessionId);
        var records = await CallRecordsBySessionAsync(gateway, tenant);
        records.Count.ShouldBe(sessions.Count);
        records.Values.ShouldAllBe(count => count == 1);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe((terminated * 90_000L) + (supervised * 60_000L));
        (await gateway.CallRecordsAsync(tenant)).Charged.ShouldBe((terminated * 90_000L) + (supervised * 60_000L));
        (await gateway.RedisAccountAsync(tenant))!.Value.Held.ShouldBe(0);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task The_debit_policy_charges_the_last_grant_as_if_used_in_full()
    {
        await using var gateway = await StartAlongsideAsync(fixture.Gateway, Settings, "--Supervision:IntervalSeconds=3600", "--Supervision:Policy=Debit", "--Supervision:GraceSeconds=30");
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000, first: 60, next: 1));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 70, requestedSeconds: 40));

        // Validity 60 s plus grace 30 s.
        gateway.Clock.Advance(TimeSpan.FromSeconds(89));
        (await SuperviseAsync(gateway, tenant)).ShouldBe(0);
        gateway.Clock.Advance(TimeSpan.FromSeconds(2));
        (await SuperviseAsync(gateway, tenant)).ShouldBe(1);

        // 70 s reported plus the 40 s granted: 110 s.
        (await CallRecordAsync(gateway, tenant, session)).ShouldBe((TerminationCause.SupervisionTimeout, 110L, 110_000L));
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((890_000L, 0L));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task The_supervisor_runs_on_its_own_timer()
    {
        await using var gateway = await StartAlongsideAsync(fixture.Gateway, Settings, "--Supervision:IntervalSeconds=1");
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000, first: 60, next: 1));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        (await gateway.RedisAccountAsync(tenant))!.Value.Held.ShouldBe(60_000);

        gateway.Clock.Advance(TimeSpan.FromSeconds(121));
        var deadline = DateTime.UtcNow.AddSeconds(15);
        // Redis releases the hold a moment before the call record is committed: wait for the record.
        while ((await gateway.CallRecordsAsync(tenant)).Count == 0)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the supervisor's timer did not close the session");
            await Task.Delay(100);
        }

        (await CallRecordAsync(gateway, tenant, session)).ShouldBe((TerminationCause.SupervisionTimeout, 0L, 0L));
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((1_000_000L, 0L));
    }

    [Fact]
    public async Task A_network_element_cannot_send_the_supervisors_termination_cause()
    {
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000, first: 60, next: 1));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        var terminate = Terminate(tenant, session, 1, usedSeconds: 10);
        terminate.TerminationCause = TerminationCause.SupervisionTimeout;

        var refused = await Should.ThrowAsync<RpcException>(async () => await gateway.Charging.TerminateAsync(terminate));

        refused.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        refused.Status.Detail.ShouldContain("termination_cause");
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((1_000_000L, 60_000L));
    }

    private static Task<int> SuperviseAsync(GatewayInstance gateway, string tenant) =>
        gateway.Services.GetRequiredService<SessionSupervisor>().SuperviseTenantAsync(tenant, CancellationToken.None);

    private static async Task<(TerminationCause Cause, long UsedSeconds, long Charged)> CallRecordAsync(GatewayInstance gateway, string tenant, string session)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var row = await connection.QuerySingleAsync<(short, long, long)>(
            "SELECT termination_cause, used_seconds, charge_micros FROM call_records WHERE tenant_id = @tenant AND session_id = @session",
            new { tenant, session });
        return ((TerminationCause)row.Item1, row.Item2, row.Item3);
    }

    private static async Task<Dictionary<string, long>> CallRecordsBySessionAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var rows = await connection.QueryAsync<(string, long)>(
            "SELECT session_id, count(*) FROM call_records WHERE tenant_id = @tenant GROUP BY session_id", new { tenant });
        return rows.ToDictionary(row => row.Item1, row => row.Item2, StringComparer.Ordinal);
    }

    /// <summary>A gateway of its own: these tests move its clock, which would make other tests' sessions due.</summary>
    public sealed class SupervisedGateway : IAsyncLifetime
    {
        public GatewayInstance Gateway { get; private set; } = null!;

        public async Task InitializeAsync() => Gateway = await StartAsync(null, Settings, "--Supervision:IntervalSeconds=3600");

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }
}
