namespace CommsCredits.Tests.Fuzzing;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Tests.Charging;
using Dapper;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Npgsql;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

/// <summary>
/// No state change from a rejected request: mutated and random-valued Charging and Accounts requests that name a
/// real, funded tenant with an open session, sent one at a time with the right key. Around every request the
/// tenant's ledger (count and sum), call record count and Redis account and lot hashes are compared: a request
/// answered with a non-OK status, or OK with a denial, must have changed none of them. Requests that were carried
/// out (OK and SUCCESS; an Update answered CREDIT_LIMIT_REACHED, which debits the used seconds as documented; any OK
/// Accounts answer) are counted and the comparison starts again from the state after them. At the end money is
/// conserved (ledger = Redis, lot by lot).
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class StateFuzzTests(FuzzGatewayFixture fixture, ITestOutputHelper output)
{
    private const string Charging = "/commscredits.v1.Charging/";
    private const string Accounts = "/commscredits.v1.Accounts/";
    private const string OpenSession = "fuzz.example.net;open";

    [Fact]
    public async Task Rejected_requests_change_no_state()
    {
        var gateway = fixture.Gateway;
        var tenantId = await gateway.CreateTenantAsync(50_000_000, GatewayInstance.Rate("44", 10_000, 1_000), GatewayInstance.Rate("1", 20_000));
        (await gateway.Charging.ReserveAsync(Calls.Reserve(tenantId, OpenSession, 120))).ResultCode.ShouldBe(ResultCode.Success);
        var seeds = Seeds(tenantId);
        var cases = FuzzSettings.Iterations * 20;
        var accepted = new Dictionary<string, int>(StringComparer.Ordinal);
        var rejected = 0;
        var before = await SnapshotAsync(tenantId);
        for (var number = 0; number < cases; number++)
        {
            var random = FuzzSettings.ForCase("state", number);
            var (path, seed) = seeds[random.Next(seeds.Count)];
            var method = fixture.Methods.Single(candidate => string.Equals(candidate.Path, path, StringComparison.Ordinal));
            var (body, description) = Body(seed, method.Method.InputType, random, tenantId);
            var answer = await FuzzProbe.SendAsync(fixture.Raw, path, FuzzProbe.Frame(body), "Bearer " + method.Key);
            var problem = FuzzProbe.Problem(answer, method.Method.OutputType);
            problem.ShouldBeNull($"{path} case {number} ({description}, {FuzzSettings.Replay}); body {FuzzProbe.Hex(body)}");
            var after = await SnapshotAsync(tenantId);
            if (CarriedOut(answer, method.Method))
            {
                accepted[path] = accepted.GetValueOrDefault(path) + 1;
            }
            else
            {
                rejected++;
                after.ShouldBe(
                    before,
                    $"{path} case {number} ({description}, {FuzzSettings.Replay}) was answered {answer.GrpcStatus} '{answer.GrpcMessage}' "
                    + $"{Describe(answer, method.Method)} but changed state; body {FuzzProbe.Hex(body)}");
            }

            before = after;
        }

        output.WriteLine($"{cases} requests ({FuzzSettings.Replay}): {rejected} rejected with no state change; carried out: "
            + string.Join(", ", accepted.OrderBy(entry => entry.Key, StringComparer.Ordinal).Select(entry => $"{entry.Key}={entry.Value}")));
        rejected.ShouldBeGreaterThan(cases / 2);
        await gateway.ShouldConserveMoneyAsync(tenantId);
        await fixture.ShouldStillServeAsync();
        fixture.ShouldHaveNoErrorLogs();
    }

    /// <summary>Valid requests for the tenant on every money-moving or reading method of Charging and Accounts.</summary>
    /// <remarks>
    /// SetAutoRecharge is left out on purpose: once a mutated one is accepted, the recharge worker may fund the tenant
    /// in the background, in the middle of a later request, which would look like that request's change.
    /// </remarks>
    private static List<(string Path, IMessage Seed)> Seeds(string tenantId) =>
    [
        (Charging + "Reserve", Calls.Reserve(tenantId, "fuzz.example.net;new", 60)),
        (Charging + "Update", Calls.Update(tenantId, OpenSession, 1, 30, 60)),
        (Charging + "Terminate", Calls.Terminate(tenantId, OpenSession, 2, 45)),
        (Charging + "Debit", new DebitRequest
        {
            SessionId = "fuzz.example.net;debit", TenantId = tenantId, UserId = "bob@example.com", CallType = CallType.OutboundPstn,
            CallingNumber = Calls.Caller, CalledNumber = Calls.UkFixed, UsedSeconds = 90,
        }),
        (Charging + "Refund", new RefundRequest
        {
            SessionId = "fuzz.example.net;refund", TenantId = tenantId, Amount = new Money { AmountMicros = 1_000, Currency = "EUR" }, Reason = "fuzz",
        }),
        (Charging + "CheckBalance", new CheckBalanceRequest { TenantId = tenantId }),
        (Charging + "PriceEnquiry", new PriceEnquiryRequest { TenantId = tenantId, CallType = CallType.OutboundPstn, CallingNumber = Calls.Caller, CalledNumber = Calls.UkFixed, Seconds = 60 }),
        (Accounts + "AddFunds", new AddFundsRequest { TenantId = tenantId, Amount = new Money { AmountMicros = 60_000_000, Currency = "EUR" }, IdempotencyKey = "fuzz-1" }),
        (Accounts + "UpdateTenant", new UpdateTenantRequest { TenantId = tenantId, DisplayName = "Fuzzed", FundingExpiryMonths = 12 }),
        (Accounts + "GetBalance", new GetBalanceRequest { TenantId = tenantId }),
        (Accounts + "ListLedgerEntries", new ListLedgerEntriesRequest { TenantId = tenantId, PageSize = 10 }),
        (Accounts + "CreateTenant", new CreateTenantRequest { TenantId = tenantId, Currency = "EUR", DisplayName = "again" }),
        (Accounts + "ImportRates", new ImportRatesRequest { TenantId = tenantId, Rows = { GatewayInstance.Rate("44", 10_000, 1_000), GatewayInstance.Rate("1", 20_000) } }),
    ];

    /// <summary>Mostly a mutation of the seed; sometimes random field values with the tenant's id kept.</summary>
    private static (byte[] Body, string Description) Body(IMessage seed, MessageDescriptor type, Random random, string tenantId)
    {
        if (random.Next(4) == 0)
        {
            var message = RandomMessages.Create(type, random, tenantId);
            type.FindFieldByName("tenant_id")?.Accessor.SetValue(message, tenantId);
            return (message.ToByteArray(), "random values");
        }

        var (bytes, names) = Mutations.Mutate(seed.ToByteArray(), random);
        return (bytes, "mutated: " + names);
    }

    /// <summary>Whether the answer says the request was carried out (and so may have changed state).</summary>
    private static bool CarriedOut(FuzzAnswer answer, MethodDescriptor method)
    {
        if (answer.Code != 0)
        {
            return false;
        }

        var resultCode = method.OutputType.FindFieldByName("result_code");
        if (resultCode is null)
        {
            return true;
        }

        var result = (ResultCode)resultCode.Accessor.GetValue(FuzzProbe.ResponseMessage(answer.Body, method.OutputType));
        return result == ResultCode.Success || (result == ResultCode.CreditLimitReached && string.Equals(method.Name, "Update", StringComparison.Ordinal));
    }

    private static string Describe(FuzzAnswer answer, MethodDescriptor method) =>
        answer.Code == 0 ? FuzzProbe.ResponseMessage(answer.Body, method.OutputType).ToString() ?? string.Empty : string.Empty;

    /// <summary>The tenant's durable and hot state, as one comparable text.</summary>
    private async Task<string> SnapshotAsync(string tenantId)
    {
        var gateway = fixture.Gateway;
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var ledger = await connection.QuerySingleAsync<(long Count, long Sum)>(
            "SELECT count(*), coalesce(sum(amount_micros), 0)::bigint FROM ledger_entries WHERE tenant_id = @tenantId", new { tenantId });
        var records = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM call_records WHERE tenant_id = @tenantId", new { tenantId });
        var account = await gateway.Redis.HashGetAllAsync(HotStateKeys.Account(tenantId));
        var lots = await gateway.Redis.HashGetAllAsync(HotStateKeys.Lots(tenantId));
        static string Hash(StackExchange.Redis.HashEntry[] entries) =>
            string.Join(",", entries.Select(entry => $"{entry.Name}={entry.Value}").Order(StringComparer.Ordinal));
        return $"ledger entries {ledger.Count} summing {ledger.Sum}; call records {records}; account {Hash(account)}; lots {Hash(lots)}";
    }
}
