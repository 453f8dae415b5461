namespace CommsCredits.Tests.Recharge;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Recharge;
using CommsCredits.Tests.Charging;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>A gateway whose recharge worker runs only when a test asks, with short timeouts and backoff.</summary>
public sealed class RechargeGateway : IAsyncLifetime
{
    public GatewayInstance Gateway { get; private set; } = null!;

    public async Task InitializeAsync() => Gateway = await GatewayInstance.StartAsync(
        null, "--Recharge:WorkerEnabled=false", "--Recharge:ProviderTimeoutMs=300", "--Recharge:BackoffBaseMs=20", "--Recharge:BackoffMaxMs=50",
        "--Recharge:SandboxSlowMs=100", "--Recharge:LeaseSeconds=1",
        "--Funding:MaxOpenLotsPerTenant=3");

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}

/// <summary>
/// The recharge worker against the sandbox provider, real Redis and PostgreSQL: every provider behaviour, a worker
/// that dies between the charge and the ledger, a manual funding in the middle, and many calls crossing the trigger.
/// </summary>
public sealed class RechargeWorkerTests(RechargeGateway fixture) : IClassFixture<RechargeGateway>
{
    private const long Euro = 1_000_000;
    private readonly GatewayInstance gateway = fixture.Gateway;

    [Theory]
    [InlineData("pm_sandbox_ok", 1)]
    [InlineData("pm_sandbox_slow", 1)]
    [InlineData("pm_sandbox_timeout", 1)]
    [InlineData("pm_sandbox_fail_after_charge", 1)]
    [InlineData("pm_sandbox_flaky", 3)]
    public async Task A_due_recharge_is_paid_once_and_funded_once_whatever_the_provider_does_on_the_way(string paymentMethod, int attempts)
    {
        // Proves exactly-once payment and funding: after a debit crosses the trigger, the worker charges the payment
        // method; a timeout or a failure after the charge is resolved by asking the provider about the key (so the
        // money is taken once), transient refusals are retried. In the end the provider holds exactly one charge, the
        // ledger one auto-recharge lot of the recharge amount, the request is paid and the tenant notified once.
        var tenant = await DrainedTenantAsync(paymentMethod);

        await DrainAsync();

        (await RequestAsync(tenant)).ShouldBe(("succeeded", attempts));
        (await ChargesAsync(tenant)).ShouldBe([("charged", 50 * Euro)]);
        (await AutoRechargeLotsAsync(tenant)).ShouldBe([50 * Euro]);
        (await NotificationsAsync(tenant)).ShouldBe(["recharge_succeeded"]);
        (await gateway.RedisAccountAsync(tenant))!.Value.Balance.ShouldBe(65 * Euro);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Theory]
    [InlineData("pm_sandbox_declined", "the payment method was declined")]
    [InlineData("pm_sandbox_expired", "the card has expired")]
    public async Task A_refused_payment_is_not_retried_until_the_payment_method_changes_and_the_tenant_is_told(string paymentMethod, string reason)
    {
        // Proves the refusal path: a declined or expired card fails the request at once, with the reason, notifies
        // recharge_failed once, and later runs leave it alone; setting another payment method makes it due again: one
        // that is refused too fails it again with a second notification, a good one pays and funds it once.
        var tenant = await DrainedTenantAsync(paymentMethod);

        await DrainAsync();
        (await RequestAsync(tenant)).ShouldBe(("failed", 1));
        await DrainAsync();
        (await RequestAsync(tenant)).ShouldBe(("failed", 1));
        (await NotificationsAsync(tenant)).ShouldBe(["recharge_failed"]);
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            (await connection.QuerySingleAsync<string>("SELECT payload->>'reason' FROM notification_outbox WHERE tenant_id = @tenant", new { tenant })).ShouldBe(reason);
        }

        // Another payment method that is refused too: the request fails again, and the tenant hears of it again.
        await EnableAutoRechargeAsync(tenant, "pm_sandbox_declined_too");
        await DrainAsync();
        (await NotificationsAsync(tenant)).ShouldBe(["recharge_failed", "recharge_failed"]);

        await EnableAutoRechargeAsync(tenant, "pm_sandbox_ok");
        await DrainAsync();

        (await RequestAsync(tenant)).ShouldBe(("succeeded", 1));
        (await AutoRechargeLotsAsync(tenant)).ShouldBe([50 * Euro]);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_worker_killed_between_the_charge_and_the_ledger_write_leaves_a_lot_added_exactly_once()
    {
        // Proves recovery from the worst moment: a worker claims the request, records its attempt and is charged by
        // the provider, then dies before the ledger write (the test does those steps itself and stops). When the lease
        // runs out, the next run asks the provider about the key, learns it was charged, and funds once, charging
        // nothing more.
        var tenant = await DrainedTenantAsync("pm_sandbox_ok");
        var requests = gateway.Services.GetRequiredService<RechargeRequests>();
        var claimed = (await requests.ClaimAsync(10, leaseSeconds: 1, CancellationToken.None)).Single(request => string.Equals(request.TenantId, tenant, StringComparison.Ordinal));
        var attempt = await requests.BeginAttemptAsync(claimed, CancellationToken.None);
        var provider = gateway.Services.GetRequiredService<IPaymentProvider>();
        (await provider.ChargeAsync(new PaymentCharge(attempt.AttemptKey!, attempt.PaymentMethodReference, attempt.AmountMicros, attempt.Currency), CancellationToken.None))
            .Status.ShouldBe(PaymentStatus.Charged);

        await Task.Delay(1_200);
        await DrainAsync();

        (await ChargesAsync(tenant)).ShouldBe([("charged", 50 * Euro)]);
        (await AutoRechargeLotsAsync(tenant)).ShouldBe([50 * Euro]);
        (await RequestAsync(tenant)).ShouldBe(("succeeded", 1));
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_manual_funding_while_a_recharge_is_being_charged_keeps_both_and_conserves_money()
    {
        // Proves independence of the two fundings: while the slow payment method is being charged, an admin adds 60
        // units; both lots arrive once, and the balance is exactly both plus what was left.
        var tenant = await DrainedTenantAsync("pm_sandbox_slow");

        var recharge = DrainAsync();
        await gateway.Accounts.AddFundsAsync(new AddFundsRequest
        {
            TenantId = tenant, Amount = new Money { AmountMicros = 60 * Euro, Currency = "EUR" }, IdempotencyKey = "manual-" + tenant,
        });
        await recharge;

        (await AutoRechargeLotsAsync(tenant)).ShouldBe([50 * Euro]);
        (await gateway.RedisAccountAsync(tenant))!.Value.Balance.ShouldBe(125 * Euro);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task Concurrent_calls_draining_a_tenant_through_its_trigger_again_and_again_get_one_recharge_per_crossing()
    {
        // Proves the acceptance rule under load: three waves of 100 calls in flight at once (Reserve, a minute's
        // Update, Terminate) each drain the tenant through its trigger while two workers recharge it; the recharges
        // equal the crossings of the trigger that the ledger shows (at least one per wave), the provider charged once
        // per recharge, and money is conserved.
        var tenant = await gateway.CreateTenantAsync(150 * Euro, Rate("44", Euro, first: 60, next: 60));
        await EnableAutoRechargeAsync(tenant, "pm_sandbox_ok", triggerMicros: 100 * Euro, rechargeMicros: 100 * Euro);
        using var stop = new CancellationTokenSource();
        var workers = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => WorkUntilAsync(stop.Token)));

        for (var wave = 0; wave < 3; wave++)
        {
            await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
            {
                var session = NewSessionId();
                if ((await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60))).ResultCode == ResultCode.Success)
                {
                    var update = await gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 30, requestedSeconds: 60));
                    await gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, update.ResultCode == ResultCode.Success ? 30u : 0u));
                }
            }));
            await DrainAsync();
        }

        await stop.CancelAsync();
        await workers;

        var crossings = await CrossingsAsync(tenant, triggerMicros: 100 * Euro);
        crossings.ShouldBeGreaterThanOrEqualTo(3);
        (await CountAsync("SELECT count(*) FROM recharge_requests WHERE tenant_id = @tenant AND status = 'succeeded'", tenant)).ShouldBe(crossings);
        (await ChargesAsync(tenant)).Count.ShouldBe(crossings);
        (await AutoRechargeLotsAsync(tenant)).Count.ShouldBe(crossings);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task Two_worker_processes_on_their_own_fund_a_due_recharge_once_and_stop_cleanly_on_SIGTERM()
    {
        // Proves the worker role: two `--role worker` processes (no gRPC listener) share the database and Redis of a gateway
        // whose own worker is off; a due recharge is funded once, and each process exits 0 on SIGTERM.
        var tenant = await DrainedTenantAsync("pm_sandbox_ok");
        var workers = Enumerable.Range(0, 2).Select(_ => StartWorkerProcess()).ToList();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!string.Equals((await RequestAsync(tenant)).Status, "succeeded", StringComparison.Ordinal))
            {
                DateTime.UtcNow.ShouldBeLessThan(deadline, "the worker processes did not fund the recharge within 30 s");
                await Task.Delay(100);
            }
        }
        finally
        {
            foreach (var worker in workers)
            {
                System.Diagnostics.Process.Start("kill", ["-TERM", worker.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]).WaitForExit();
            }
        }

        foreach (var worker in workers)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await worker.WaitForExitAsync(timeout.Token);
            worker.ExitCode.ShouldBe(0);
            worker.Dispose();
        }

        (await ChargesAsync(tenant)).ShouldBe([("charged", 50 * Euro)]);
        (await AutoRechargeLotsAsync(tenant)).ShouldBe([50 * Euro]);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    private System.Diagnostics.Process StartWorkerProcess()
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { UseShellExecute = false };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "CommsCredits.Gateway.dll"), "--role", "worker", "--Storage:Postgres=" + gateway.PostgresConnectionString,
            "--Storage:Redis=" + gateway.RedisSetting, "--Recharge:PollIntervalMs=50", "--Logging:LogLevel:Default=Warning",
            "--Operations:Endpoint=http://127.0.0.1:0",
        })
        {
            start.ArgumentList.Add(argument);
        }

        return System.Diagnostics.Process.Start(start)!;
    }

    [Fact]
    public async Task A_paid_recharge_the_balance_cannot_take_yet_is_kept_and_funded_once_it_fits()
    {
        // Proves a paid recharge is never dropped: the tenant already holds the most lots allowed (3 here), so the
        // funding is refused; the worker logs an error and keeps the request. Once a debit empties a lot, the next
        // claim funds it, and the provider was charged once in all.
        var tenant = await DrainedTenantAsync("pm_sandbox_ok");
        foreach (var key in new[] { "second", "third" })
        {
            await gateway.Accounts.AddFundsAsync(new AddFundsRequest
            {
                TenantId = tenant, Amount = new Money { AmountMicros = 5 * Euro, Currency = "EUR" }, IdempotencyKey = key + "-" + tenant,
            });
        }

        await gateway.Services.GetRequiredService<RechargeWorker>().RunOnceAsync(CancellationToken.None);
        (await RequestAsync(tenant)).Status.ShouldBe("charging");
        gateway.Errors.Entries.ShouldContain(entry => entry.Contains(tenant, StringComparison.Ordinal) && entry.Contains("funding was refused", StringComparison.Ordinal));
        // Auto-recharge off, so that the debit that empties a lot does not cross the trigger again.
        await gateway.Accounts.SetAutoRechargeAsync(new SetAutoRechargeRequest
        {
            TenantId = tenant, Enabled = false, Trigger = new Money { AmountMicros = 20 * Euro, Currency = "EUR" },
            Recharge = new Money { AmountMicros = 50 * Euro, Currency = "EUR" }, PaymentMethodReference = "pm_sandbox_ok",
        });
        await gateway.DirectoryLoadedAsync(tenant);
        await gateway.Charging.DebitAsync(new DebitRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller,
            CalledNumber = UkFixed, UsedSeconds = 15 * 60,
        });

        await Task.Delay(1_200);
        await DrainAsync();

        (await RequestAsync(tenant)).Status.ShouldBe("succeeded");
        (await ChargesAsync(tenant)).ShouldBe([("charged", 50 * Euro)]);
        (await AutoRechargeLotsAsync(tenant)).ShouldBe([50 * Euro]);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    /// <summary>A tenant with auto-recharge (trigger 20, recharge 50) whose balance a debit has just taken from 30 to 15.</summary>
    private async Task<string> DrainedTenantAsync(string paymentMethod)
    {
        var tenant = await gateway.CreateTenantAsync(30 * Euro, Rate("44", Euro, first: 60, next: 60));
        await EnableAutoRechargeAsync(tenant, paymentMethod);
        await gateway.Charging.DebitAsync(new DebitRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller,
            CalledNumber = UkFixed, UsedSeconds = 15 * 60,
        });
        (await RequestAsync(tenant)).ShouldBe(("due", 0));
        return tenant;
    }

    private async Task EnableAutoRechargeAsync(string tenant, string paymentMethod, long triggerMicros = 20 * Euro, long rechargeMicros = 50 * Euro)
    {
        await gateway.Accounts.SetAutoRechargeAsync(new SetAutoRechargeRequest
        {
            TenantId = tenant, Enabled = true, Trigger = new Money { AmountMicros = triggerMicros, Currency = "EUR" },
            Recharge = new Money { AmountMicros = rechargeMicros, Currency = "EUR" }, PaymentMethodReference = paymentMethod,
        });
        await gateway.DirectoryLoadedAsync(tenant);
    }

    /// <summary>Runs the worker until no request is due or being charged (waiting out backoff), for at most 20 seconds.</summary>
    private async Task DrainAsync()
    {
        var worker = gateway.Services.GetRequiredService<RechargeWorker>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await CountAsync("SELECT count(*) FROM recharge_requests WHERE status IN ('due', 'charging')", null) > 0)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "recharges still due after 20 s");
            await worker.RunOnceAsync(CancellationToken.None);
            await Task.Delay(20);
        }
    }

    private async Task WorkUntilAsync(CancellationToken stop)
    {
        var worker = gateway.Services.GetRequiredService<RechargeWorker>();
        while (!stop.IsCancellationRequested)
        {
            await worker.RunOnceAsync(CancellationToken.None);
            await Task.Delay(5, CancellationToken.None);
        }
    }

    /// <summary>Replays the tenant's ledger in the order Redis applied it and counts debits that took the balance below the trigger.</summary>
    private async Task<int> CrossingsAsync(string tenant, long triggerMicros)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var amounts = await connection.QueryAsync<long>(
            "SELECT amount_micros FROM ledger_entries WHERE tenant_id = @tenant ORDER BY epoch, operation_number", new { tenant });
        long balance = 0;
        var crossings = 0;
        foreach (var amount in amounts)
        {
            crossings += amount < 0 && balance >= triggerMicros && balance + amount < triggerMicros ? 1 : 0;
            balance += amount;
        }

        return crossings;
    }

    private async Task<(string Status, int Attempts)> RequestAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.QuerySingleAsync<(string, int)>("SELECT status, attempts FROM recharge_requests WHERE tenant_id = @tenant", new { tenant });
    }

    private async Task<List<(string Outcome, long Amount)>> ChargesAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return (await connection.QueryAsync<(string, long)>(
            "SELECT outcome, amount_micros FROM sandbox_payments WHERE idempotency_key LIKE @prefix", new { prefix = "recharge-" + tenant + "-%" })).AsList();
    }

    private async Task<List<long>> AutoRechargeLotsAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return (await connection.QueryAsync<long>("SELECT amount_micros FROM funding_lots WHERE tenant_id = @tenant AND source = 2", new { tenant })).AsList();
    }

    private async Task<List<string>> NotificationsAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return (await connection.QueryAsync<string>(
            "SELECT kind FROM notification_outbox WHERE tenant_id = @tenant AND kind LIKE 'recharge%' ORDER BY notification_id", new { tenant })).AsList();
    }

    private async Task<int> CountAsync(string sql, string? tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.ExecuteScalarAsync<int>(sql, new { tenant });
    }
}
