namespace CommsCredits.Tests.Recharge;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Tests.Charging;
using Dapper;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// What debits cause besides themselves, in the same ledger transaction: a recharge request when the balance crosses
/// the auto-recharge trigger, a notification when it reaches zero; and a recharge's funding marking its request paid.
/// The gateway's recharge worker is off, so that no recharge runs between a debit and what the test checks.
/// </summary>
public sealed class RechargeTriggerTests(RechargeGateway fixture) : IClassFixture<RechargeGateway>
{
    private const long Euro = 1_000_000;

    [Fact]
    public async Task One_recharge_is_due_per_crossing_of_the_trigger_and_one_notification_each_time_the_balance_reaches_zero()
    {
        // Proves the crossing rule: with a 20-unit trigger, a debit from 30 to 15 makes one recharge due (for the set
        // amount and payment method); a further debit below the trigger makes none; a debit reaching zero notifies
        // once. A refund lifts the balance over the trigger again, and the next crossing makes a second recharge due.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(30 * Euro, Rate("44", Euro, first: 60, next: 60));
        await EnableAutoRechargeAsync(gateway, tenant, triggerMicros: 20 * Euro);

        await DebitAsync(gateway, tenant, minutes: 15);
        await DebitAsync(gateway, tenant, minutes: 5);
        (await RequestsAsync(gateway, tenant)).ShouldBe([(50 * Euro, "pm_sandbox_ok", "due")]);
        await DebitAsync(gateway, tenant, minutes: 10);
        (await NotificationsAsync(gateway, tenant)).ShouldBe(["balance_reached_zero"]);

        await gateway.Charging.RefundAsync(new RefundRequest
        {
            SessionId = NewSessionId(), TenantId = tenant, Amount = new Money { AmountMicros = 25 * Euro, Currency = "EUR" }, Reason = "goodwill",
        });
        await DebitAsync(gateway, tenant, minutes: 10);
        (await RequestsAsync(gateway, tenant)).Count.ShouldBe(2);
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task Many_concurrent_calls_crossing_the_trigger_together_make_one_recharge_due()
    {
        // Proves "no storm": 40 concurrent one-minute debits take a 50-unit balance through a 30-unit trigger at
        // once; Redis orders them, so exactly one of them is the crossing and exactly one request is due.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(50 * Euro, Rate("44", Euro, first: 60, next: 60));
        await EnableAutoRechargeAsync(gateway, tenant, triggerMicros: 30 * Euro);

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => DebitAsync(gateway, tenant, minutes: 1)));

        answers.Count(answer => answer.ResultCode == ResultCode.Success).ShouldBe(40);
        (await RequestsAsync(gateway, tenant)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_recharges_funding_marks_its_request_paid_and_notifies_with_the_new_balance_in_the_same_transaction()
    {
        // Proves the success side of the producer: the funding that pays a request (credit with PaysRecharge) marks it
        // succeeded and writes recharge_succeeded with the amount and the balance after, once, even when the same
        // funding is sent again.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(25 * Euro, Rate("44", Euro, first: 60, next: 60));
        await EnableAutoRechargeAsync(gateway, tenant, triggerMicros: 20 * Euro);
        await DebitAsync(gateway, tenant, minutes: 10);
        var request = await RequestIdAsync(gateway, tenant);

        var credits = gateway.Services.GetService(typeof(BalanceCredits)) as BalanceCredits;
        var credit = new CreditRequest(
            CommsCredits.Gateway.Ledger.LedgerEntryKind.Funding, 50 * Euro, string.Empty, "recharge:" + request, "auto-recharge", "fingerprint", "recharge " + request, CommsCredits.Gateway.Ledger.LotSource.AutoRecharge, 12)
        {
            PaysRecharge = request,
        };
        for (var attempt = 0; attempt < 2; attempt++)
        {
            await credits!.CreditAsync(tenant, HotStateKeys.Funding(tenant, "recharge:" + request), credit, 3600, CancellationToken.None);
        }

        (await RequestsAsync(gateway, tenant)).ShouldBe([(50 * Euro, "pm_sandbox_ok", "succeeded")]);
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var payload = await connection.QuerySingleAsync<string>(
            "SELECT payload::text FROM notification_outbox WHERE tenant_id = @tenant AND kind = 'recharge_succeeded'", new { tenant });
        payload.ShouldBe($$"""{"currency": "EUR", "recharge_id": "{{request}}", "amount_micros": 50000000, "balance_micros": 65000000}""");
        await gateway.ShouldConserveMoneyAsync(tenant);
    }

    [Fact]
    public async Task A_debit_below_a_low_balance_level_warns_once_per_level_it_crosses()
    {
        // Proves low-balance warnings: with levels 30 and 10, a debit from 50 to 35 warns of nothing, one from 35 to 5
        // warns of both levels (each with the balance left), and one from 5 to 4 of nothing more.
        var gateway = fixture.Gateway;
        var tenant = await gateway.CreateTenantAsync(50 * Euro, Rate("44", Euro, first: 60, next: 60));
        await using (var connection = new NpgsqlConnection(gateway.PostgresConnectionString))
        {
            // As SetNotificationSettings stores them: the levels, then a directory revision so every gateway reloads.
            await connection.ExecuteAsync(
                """
                INSERT INTO notification_settings (tenant_id, low_balance_levels_micros) VALUES (@tenant, '{30000000,10000000}');
                UPDATE tenants SET directory_revision = directory_revision + 1 WHERE tenant_id = @tenant;
                SELECT pg_notify('commscredits_directory_changed', @tenant);
                """,
                new { tenant });
        }

        await gateway.DirectoryLoadedAsync(tenant);
        await DebitAsync(gateway, tenant, minutes: 15);
        await DebitAsync(gateway, tenant, minutes: 30);
        await DebitAsync(gateway, tenant, minutes: 1);

        await using var check = new NpgsqlConnection(gateway.PostgresConnectionString);
        var warnings = await check.QueryAsync<string>(
            "SELECT payload::text FROM notification_outbox WHERE tenant_id = @tenant AND kind = 'low_balance' ORDER BY payload->>'level_micros'", new { tenant });
        warnings.ShouldBe([
            """{"currency": "EUR", "level_micros": 10000000, "balance_micros": 5000000}""",
            """{"currency": "EUR", "level_micros": 30000000, "balance_micros": 5000000}""",
        ]);
    }

    private static async Task EnableAutoRechargeAsync(GatewayInstance gateway, string tenant, long triggerMicros)
    {
        await gateway.Accounts.SetAutoRechargeAsync(new SetAutoRechargeRequest
        {
            TenantId = tenant, Enabled = true, Trigger = new Money { AmountMicros = triggerMicros, Currency = "EUR" },
            Recharge = new Money { AmountMicros = 50 * Euro, Currency = "EUR" }, PaymentMethodReference = "pm_sandbox_ok",
        });
        await gateway.DirectoryLoadedAsync(tenant);
    }

    private static Task<DebitResponse> DebitAsync(GatewayInstance gateway, string tenant, uint minutes) => gateway.Charging.DebitAsync(new DebitRequest
    {
        SessionId = NewSessionId(), TenantId = tenant, UserId = "alice@example.com", CallType = CallType.OutboundPstn, CallingNumber = Caller,
        CalledNumber = UkFixed, UsedSeconds = minutes * 60,
    });

    private static async Task<List<(long Amount, string PaymentMethod, string Status)>> RequestsAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var rows = await connection.QueryAsync<(long, string, string)>(
            "SELECT amount_micros, payment_method_reference, status FROM recharge_requests WHERE tenant_id = @tenant ORDER BY epoch, operation_number",
            new { tenant });
        return rows.AsList();
    }

    private static async Task<EntryKey> RequestIdAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var (epoch, operation) = await connection.QuerySingleAsync<(long, long)>(
            "SELECT epoch, operation_number FROM recharge_requests WHERE tenant_id = @tenant", new { tenant });
        return new EntryKey(epoch, operation);
    }

    private static async Task<List<string>> NotificationsAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return (await connection.QueryAsync<string>(
            "SELECT kind FROM notification_outbox WHERE tenant_id = @tenant ORDER BY notification_id", new { tenant })).AsList();
    }
}
