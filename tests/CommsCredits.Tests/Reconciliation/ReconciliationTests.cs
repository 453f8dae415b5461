namespace CommsCredits.Tests.Reconciliation;

using CommsCredits.Tests.Hosting;
using System.Diagnostics;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Reconciliation;
using CommsCredits.Tests.Charging;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// The reconciliation of Redis, the ledger and the call records (docs/charging.md, "Reconciliation"), on a real gateway
/// whose scheduled job runs every second: healthy tenants under load show no drift, tampered books do, and a repair
/// rebuilds Redis from the ledger without losing pending work. Each test uses tenants of its own.
/// </summary>
public sealed class ReconciliationTests(ReconciliationTests.Gateway fixture) : IClassFixture<ReconciliationTests.Gateway>
{
    private const long RatePerMinuteMicros = 60_000;

    private Reconciler Reconciler => fixture.Instance.Services.GetRequiredService<Reconciler>();

    [Fact]
    public async Task A_busy_healthy_tenant_shows_no_drift_even_with_settlements_in_flight()
    {
        // Proves the check lines Redis and the ledger up exactly: while calls and debits run concurrently, every single
        // check (without the confirming second look) finds Redis's balance equal to the ledger's plus the pending
        // settlements, and a debit applied in Redis whose ledger write is held back counts as pending, not as drift.
        var gateway = fixture.Instance;
        var tenant = await gateway.CreateTenantAsync(100_000_000, Rate("44", RatePerMinuteMicros, first: 1, next: 1));
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 3).Select(worker => RunCallsAsync(gateway, tenant, worker, stop.Token)).ToArray();
        var checks = new List<TenantReconciliation>();
        try
        {
            for (var round = 0; round < 25; round++)
            {
                checks.Add((await Reconciler.CheckOnceAsync(tenant, CancellationToken.None))!);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        checks.ShouldAllBe(check => check.Drift == DriftKinds.None, string.Join("\n", checks.Select(check => check.Describe())));
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBeGreaterThan(0);

        Task<DebitResponse> debit;
        await using (await HoldLedgerWritesAsync(gateway))
        {
            debit = gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 60));
            await PendingAsync(gateway, tenant, 1);
            var inFlight = (await Reconciler.CheckOnceAsync(tenant, CancellationToken.None))!;
            inFlight.Drift.ShouldBe(DriftKinds.None, inFlight.Describe());
            inFlight.PendingNotInLedgerCount.ShouldBe(1);
            inFlight.PendingNotInLedgerMicros.ShouldBe(-60_000);
            inFlight.Redis!.BalanceMicros.ShouldBe(inFlight.LedgerBalanceMicros - 60_000);
        }

        (await debit).Charged.AmountMicros.ShouldBe(60_000);

        var settled = (await Reconciler.CheckAsync(tenant, CancellationToken.None))!;
        settled.Drift.ShouldBe(DriftKinds.None, settled.Describe());
        settled.CallChargesMicros.ShouldBe(settled.CallDebitsMicros);
        settled.CallRecordCount.ShouldBeGreaterThan(1);
    }

    [Fact]
    public async Task A_tampered_Redis_balance_is_drift_and_repair_writes_the_pending_work_then_rebuilds_from_the_ledger()
    {
        // Proves balance drift is found with its numbers, and --repair's order: a settlement Redis applied but no one
        // wrote (a gateway died) reaches the ledger first, then Redis is rebuilt from the ledger; afterwards the books
        // agree, a call charges as before and money is conserved.
        var gateway = fixture.Instance;
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", RatePerMinuteMicros, first: 60, next: 60));
        (await gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 60))).Charged.AmountMicros.ShouldBe(60_000);
        await PlantUnwrittenDebitAsync(gateway, tenant, 120);
        await gateway.Redis.HashIncrementAsync(HotStateKeys.Account(tenant), "balance", 1_000_000);

        var found = (await Reconciler.CheckAsync(tenant, CancellationToken.None))!;

        found.Drift.ShouldBe(DriftKinds.Balance | DriftKinds.RedisLots, found.Describe());
        found.BalanceDifferenceMicros.ShouldBe(1_000_000);
        found.LedgerBalanceMicros.ShouldBe(5_000_000 - 60_000);
        found.PendingNotInLedgerMicros.ShouldBe(-120_000);
        found.Redis!.BalanceMicros.ShouldBe(5_000_000 - 60_000 - 120_000 + 1_000_000);
        found.Describe().ShouldContain("difference 1000000 micros");

        var outcome = (await Reconciler.RunOneAsync(tenant, repair: true, CancellationToken.None))!;

        outcome.Repair!.Rebuilt.ShouldBeTrue(outcome.Repair.Message);
        outcome.Repair.SettlementsWritten.ShouldBe(1);
        outcome.After!.Drift.ShouldBe(DriftKinds.None, outcome.After.Describe());
        var ledger = await gateway.LedgerAsync(tenant);
        ledger.Debited.ShouldBe(180_000);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((ledger.Sum, 0L));
        (await gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 30))).Charged.AmountMicros.ShouldBe(60_000);
        await gateway.ShouldConserveMoneyAsync(tenant);
        (await gateway.LedgerAsync(tenant)).Sum.ShouldBe(5_000_000 - 240_000);
        (await Reconciler.CheckAsync(tenant, CancellationToken.None))!.Drift.ShouldBe(DriftKinds.None);
    }

    [Fact]
    public async Task A_ledger_row_missing_behind_Redis_is_balance_and_call_record_drift()
    {
        // Proves a debit Redis applied that the ledger lost (and no pending settlement explains) is drift in the
        // balance, by its amount, and in the call records (the call's record charges what no ledger debit holds).
        var gateway = fixture.Instance;
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", RatePerMinuteMicros, first: 60, next: 60));
        (await gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 60))).Charged.AmountMicros.ShouldBe(60_000);
        (await gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 90))).Charged.AmountMicros.ShouldBe(120_000);
        await gateway.ShouldConserveMoneyAsync(tenant);
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            await connection.ExecuteAsync(
                """
                WITH lost AS (SELECT epoch, operation_number FROM ledger_entries WHERE tenant_id = @tenant AND amount_micros = -120000)
                DELETE FROM lot_draws d USING lost WHERE d.tenant_id = @tenant AND d.epoch = lost.epoch AND d.operation_number = lost.operation_number;
                DELETE FROM ledger_entries WHERE tenant_id = @tenant AND amount_micros = -120000;
                """,
                new { tenant });
        }

        var found = (await Reconciler.CheckAsync(tenant, CancellationToken.None))!;

        found.Drift.ShouldBe(DriftKinds.Balance | DriftKinds.CallRecords, found.Describe());
        found.BalanceDifferenceMicros.ShouldBe(-120_000);
        found.LedgerBalanceMicros.ShouldBe(5_000_000 - 60_000);
        found.CallChargesMicros.ShouldBe(180_000);
        found.CallDebitsMicros.ShouldBe(60_000);
    }

    [Fact]
    public async Task A_tampered_call_record_charge_is_drift_that_repair_reports_but_does_not_touch()
    {
        // Proves the call records are checked against the ledger debits of their calls, and that a repair leaves
        // Redis alone when only the call records drifted: Redis cannot mend them.
        var gateway = fixture.Instance;
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", RatePerMinuteMicros, first: 60, next: 60));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 1, 90))).SessionCharged.AmountMicros.ShouldBe(120_000);
        await gateway.ShouldConserveMoneyAsync(tenant);
        (await Reconciler.CheckAsync(tenant, CancellationToken.None))!.Drift.ShouldBe(DriftKinds.None);
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            await connection.ExecuteAsync("UPDATE call_records SET charge_micros = charge_micros + 7 WHERE tenant_id = @tenant", new { tenant });
        }

        var outcome = (await Reconciler.RunOneAsync(tenant, repair: true, CancellationToken.None))!;

        outcome.Found.Drift.ShouldBe(DriftKinds.CallRecords, outcome.Found.Describe());
        outcome.Found.CallDifferenceMicros.ShouldBe(7);
        outcome.Found.Describe().ShouldContain("charge 120007 vs ledger debits of those calls 120000");
        outcome.Repair.ShouldBeNull();
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_stale_epoch_is_drift_and_a_tenant_Redis_does_not_hold_is_not()
    {
        // Proves Redis serving an epoch the ledger has left is drift, and that a tenant with no hot state at all is
        // "not loaded", which is healthy: it is rebuilt on first use.
        var gateway = fixture.Instance;
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", RatePerMinuteMicros));
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            await connection.ExecuteAsync("UPDATE tenants SET hot_epoch = nextval('hot_epochs') WHERE tenant_id = @tenant", new { tenant });
        }

        var stale = (await Reconciler.CheckAsync(tenant, CancellationToken.None))!;
        stale.Drift.ShouldBe(DriftKinds.Epoch, stale.Describe());
        stale.Describe().ShouldContain($"Redis serves {stale.Redis!.Epoch}, the ledger's is {stale.LedgerEpoch}");

        await gateway.Redis.KeyDeleteAsync(HotStateKeys.Account(tenant));
        var notLoaded = (await Reconciler.CheckAsync(tenant, CancellationToken.None))!;
        notLoaded.Drift.ShouldBe(DriftKinds.None, notLoaded.Describe());
        notLoaded.Loaded.ShouldBeFalse();
        notLoaded.LedgerBalanceMicros.ShouldBe(5_000_000);
        (await Reconciler.CheckAsync("no-such-tenant", CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task The_reconcile_command_prints_the_numbers_and_exits_0_1_or_2()
    {
        // Proves the operator's command: 0 and a summary line for a healthy tenant; 1 with the numbers for a drifted
        // one (run as the operator runs it, as a process), 1 again when --repair mended it (drift was found), then 0;
        // 2 for an unknown tenant, bad options and a PostgreSQL that cannot be reached, each with a message.
        var gateway = fixture.Instance;
        var healthy = await gateway.CreateTenantAsync(2_000_000, Rate("44", RatePerMinuteMicros));
        var drifted = await gateway.CreateTenantAsync(2_000_000, Rate("44", RatePerMinuteMicros));
        await gateway.Redis.HashIncrementAsync(HotStateKeys.Account(drifted), "balance", -500);

        var ok = await ReconcileAsync("--tenant", healthy);
        ok.ExitCode.ShouldBe(0, ok.Output + ok.Errors);
        ok.Output.ShouldContain("reconcile: tenants=1 drift=0 repaired=0");
        ok.Output.Split('\n').ShouldContain(line => line.StartsWith(healthy, StringComparison.Ordinal) && line.Contains(" ok ", StringComparison.Ordinal) && line.Contains("2000000", StringComparison.Ordinal));

        var drift = await RunProcessAsync("reconcile", "--tenant", drifted);
        drift.ExitCode.ShouldBe(1, drift.Output + drift.Errors);
        drift.Output.ShouldContain("reconcile: tenants=1 drift=1 repaired=0");
        drift.Output.ShouldContain("balance: Redis 1999500 vs ledger 2000000 + pending 0 (0 settlements), difference -500 micros");

        var repaired = await ReconcileAsync("--repair", "--tenant", drifted);
        repaired.ExitCode.ShouldBe(1, repaired.Output + repaired.Errors);
        repaired.Output.ShouldContain("reconcile: tenants=1 drift=1 repaired=1");
        (await gateway.RedisAccountAsync(drifted)).ShouldBe((2_000_000L, 0L));
        (await ReconcileAsync("--tenant", drifted)).ExitCode.ShouldBe(0);

        var all = await ReconcileAsync();
        all.ExitCode.ShouldBeOneOf(0, 1);
        all.Output.ShouldContain(healthy);
        all.Output.ShouldContain("reconcile: tenants=");

        foreach (var bad in new[] { new[] { "--tenant", "no-such-tenant" }, ["--colour", "blue"], ["--repair=yes"], ["extra"] })
        {
            var refused = await ReconcileAsync(bad);
            refused.ExitCode.ShouldBe(2, string.Join(' ', bad) + "\n" + refused.Output + refused.Errors);
            refused.Errors.ShouldNotBeEmpty();
        }

        var unreachable = await ReconcileAsync(["--Storage:Postgres=Host=127.0.0.1;Port=1;Username=postgres;Database=none;Timeout=2"], withPostgres: false);
        unreachable.ExitCode.ShouldBe(2, unreachable.Output + unreachable.Errors);
        unreachable.Errors.ShouldContain("storage cannot be reached");
    }

    [Fact]
    public async Task The_scheduled_job_logs_drift_with_the_numbers_and_repairs_only_when_told_to()
    {
        // Proves the job of serve (Reconciliation:ScheduleInServe, every second here) logs a drifted tenant as a
        // warning with the numbers and leaves it drifted; a job with RepairAutomatically rebuilds it.
        var gateway = fixture.Instance;
        var tenant = await gateway.CreateTenantAsync(3_000_000, Rate("44", RatePerMinuteMicros));
        await gateway.Redis.HashIncrementAsync(HotStateKeys.Account(tenant), "balance", 250);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        string? warning;
        while ((warning = gateway.Errors.Warnings.FirstOrDefault(entry => entry.Contains($"Reconciliation drift in tenant {tenant}", StringComparison.Ordinal))) is null)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the scheduled job logged no drift");
            await Task.Delay(100);
        }

        warning.ShouldContain("ledger balance 3000000, Redis balance 3000250");
        warning.ShouldContain("difference 250");
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((3_000_250L, 0L));

        var repairing = new ReconciliationJob(
            Reconciler, Options.Create(new ReconciliationOptions { RepairAutomatically = true }), TimeProvider.System, NullLogger<ReconciliationJob>.Instance);
        await repairing.RunOnceAsync(CancellationToken.None);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((3_000_000L, 0L));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    private static DebitRequest Debit(string tenant, string session, uint seconds) => new()
    {
        SessionId = session,
        TenantId = tenant,
        UserId = "bob@example.com",
        CallType = CallType.OutboundPstn,
        CallingNumber = Caller,
        CalledNumber = UkFixed,
        UsedSeconds = seconds,
    };

    /// <summary>Sessions (Reserve, Update, Terminate) and Debit events, one after the other, until stopped.</summary>
    private static async Task RunCallsAsync(GatewayInstance gateway, string tenant, int worker, CancellationToken stop)
    {
        for (var call = 0; !stop.IsCancellationRequested && call < 500; call++)
        {
            if ((call + worker) % 2 == 0)
            {
                (await gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 30))).ResultCode.ShouldBe(ResultCode.Success);
                continue;
            }

            var session = NewSessionId();
            await gateway.Charging.ReserveAsync(Reserve(tenant, session, 30));
            await gateway.Charging.UpdateAsync(Update(tenant, session, 1, 20, 30));
            await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, 7));
        }
    }

    /// <summary>
    /// Blocks every ledger write of the gateway's database while held (an EXCLUSIVE lock on call_records, which every
    /// settlement batch inserts into; reads go on), so that a settlement stays applied in Redis and pending.
    /// Held for far less than the fixture's Settlement:CommitTimeoutMs (30 s), so the blocked request still succeeds.
    /// </summary>
    private static async Task<IAsyncDisposable> HoldLedgerWritesAsync(GatewayInstance gateway)
    {
        var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("LOCK TABLE call_records IN EXCLUSIVE MODE", transaction: transaction);
        return new Held(connection, transaction);
    }

    /// <summary>
    /// Leaves the state a gateway that died between Redis and the ledger leaves: a debit applied in Redis, its settlement
    /// in the pending hash, nothing in the ledger. (A real debit is held back while its settlement is copied, then its
    /// rows are taken out of the ledger and the copy put back.)
    /// </summary>
    private static async Task PlantUnwrittenDebitAsync(GatewayInstance gateway, string tenant, uint seconds)
    {
        var pending = HotStateKeys.Pending(tenant);
        Task<DebitResponse> debit;
        StackExchange.Redis.HashEntry entry;
        await using (await HoldLedgerWritesAsync(gateway))
        {
            debit = gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), seconds));
            await PendingAsync(gateway, tenant, 1);
            entry = (await gateway.Redis.HashGetAllAsync(pending)).Single();
        }

        await debit;
        await PendingAsync(gateway, tenant, 0);
        var settlement = CommsCredits.Gateway.Ledger.SettlementCodec.Decode(tenant, entry.Value!);
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            var key = new { tenant, epoch = settlement.Epoch, operation = settlement.OperationNumber };
            await connection.ExecuteAsync(
                """
                DELETE FROM lot_draws WHERE tenant_id = @tenant AND epoch = @epoch AND operation_number = @operation;
                DELETE FROM ledger_entries WHERE tenant_id = @tenant AND epoch = @epoch AND operation_number = @operation;
                DELETE FROM call_records WHERE tenant_id = @tenant AND epoch = @epoch AND session_number = @operation;
                """,
                key);
        }

        await gateway.Redis.HashSetAsync(pending, entry.Name, entry.Value);
    }

    private static async Task PendingAsync(GatewayInstance gateway, string tenant, long count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await gateway.PendingCountAsync(tenant) != count)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"tenant {tenant} never had {count} pending settlements");
            await Task.Delay(10);
        }
    }

    private Task<(int ExitCode, string Output, string Errors)> ReconcileAsync(params string[] arguments) => ReconcileAsync(arguments, withPostgres: true);

    /// <summary>Runs the reconcile command in this process on the fixture gateway's Redis and database.</summary>
    private async Task<(int ExitCode, string Output, string Errors)> ReconcileAsync(string[] arguments, bool withPostgres)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        string[] settings = [.. arguments, "--Storage:Redis=" + fixture.Instance.RedisSetting, "--Logging:LogLevel:Default=Warning"];
        var exitCode = await ReconcileCommand.RunAsync(
            withPostgres ? [.. settings, "--Storage:Postgres=" + fixture.Instance.PostgresConnectionString] : settings, output, errors, CancellationToken.None);
        return (exitCode, output.ToString(), errors.ToString());
    }

    /// <summary>Runs the gateway program on the fixture gateway's Redis and database.</summary>
    private Task<(int ExitCode, string Output, string Errors)> RunProcessAsync(params string[] arguments) =>
        GatewayProgram.RunAsync(
        [
            .. arguments, "--Storage:Redis=" + fixture.Instance.RedisSetting, "--Storage:Postgres=" + fixture.Instance.PostgresConnectionString,
            "--Logging:LogLevel:Default=Warning",
        ]);

    private sealed class Held(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    /// <summary>The gateway of these tests: its reconciliation job runs in serve, every second; the sweeper stays out of the way.</summary>
    public sealed class Gateway : IAsyncLifetime
    {
        public GatewayInstance Instance { get; private set; } = null!;

        public async Task InitializeAsync() => Instance = await GatewayInstance.StartAsync(
            null, "--Reconciliation:ScheduleInServe=true", "--Reconciliation:IntervalSeconds=1", "--Settlement:SweepIntervalSeconds=3600",
            // HoldLedgerWritesAsync blocks ledger writes for a moment; on a busy machine that must not fail the blocked request.
            "--Settlement:CommitTimeoutMs=30000");

        public async Task DisposeAsync()
        {
            Instance.Errors.Entries.ShouldBeEmpty();
            await Instance.DisposeAsync();
        }
    }
}
